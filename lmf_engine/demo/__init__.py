"""The offline demo workspace: a tiny local chat model, datasets for every stage and example configs."""
