"""Models and tokenizers: loading, adapters, quantization, export, and the tiny local model used offline."""
