"""Datasets, chat templates and preprocessing: from dataset_info.json rows to token ids and labels."""
