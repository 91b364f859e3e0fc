"""The OpenAI-compatible HTTP API (``lmf-engine api``) over a chat engine: FastAPI app and uvicorn runner."""
