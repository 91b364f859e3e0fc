"""The ppo trainer: LLaMA-Factory's ``CustomPPOTrainer`` loop on transformers' Trainer, with trl 0.9's PPO step
(:mod:`.ppo_math`) since trl 1.x no longer has it.

Each step takes ``per_device_train_batch_size * gradient_accumulation_steps * ppo_buffer_size`` prompts, generates
answers with the policy, scores them with the reward model (the score at the last token), then runs ``ppo_epochs``
epochs of clipped PPO updates on mini-batches of ``per_device_train_batch_size``. Logs loss, reward and lr; saves
checkpoints (adapter or weights, value head, optimizer, trainer state, KL coefficient) as transformers' Trainer does
(``save_steps``, the last step) and when stopped. Imported only to train.
"""

import json
import math
import os
import time
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from transformers import GenerationConfig, Trainer, TrainerState
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import ExportableState

from lmf_engine.data.lazy_rows import present_rows

from .ppo_math import AdaptiveKLController, PPOHyperParams, compute_advantages, compute_rewards, ppo_loss
from .ppo_rollout import RolloutMixin
from .pref_math import RunningMoments
from .preference import prepare_ref_model
from .trainer import WorkbenchTrainerMixin
from .valuehead_io import ValueHeadSavingMixin

PPO_STATE_FILE = "ppo_state.json"


class Meter:
    """A running average."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int) -> None:
        self.total += value * n
        self.count += n

    def pop(self) -> float:
        average = self.total / max(self.count, 1)
        self.total, self.count = 0.0, 0
        return average


def _steps(value: float, max_steps: int) -> int:
    """A logging/save interval: a fraction of the run below 1, a step count otherwise."""
    return max(1, math.ceil(max_steps * value) if value < 1 else int(value))


class PPOTrainer(RolloutMixin, ValueHeadSavingMixin, WorkbenchTrainerMixin, Trainer):
    """See the module docstring. ``ref_model`` None with LoRA: the adapter is switched off for the reference."""

    def __init__(
        self, *args: Any, ref_model: Any, reward_model: Any, generation_kwargs: dict[str, Any], **kwargs: Any
    ) -> None:
        from transformers import InfNanRemoveLogitsProcessor, LogitsProcessorList

        config = kwargs["lmf_config"]
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.reward_type = config.get("reward_model_type")
        self.ppo_epochs = config.get("ppo_epochs")
        self.mini_batch_size = self.args.per_device_train_batch_size
        self.batch_size = self.mini_batch_size * self.args.gradient_accumulation_steps * config.get("ppo_buffer_size")
        self.hp = PPOHyperParams(target=config.get("ppo_target"), whiten_rewards=config.get("ppo_whiten_rewards"))
        self.kl_ctl = AdaptiveKLController(self.hp.init_kl_coef, self.hp.target, self.hp.horizon)
        self.score_norm = RunningMoments(self.accelerator) if config.get("ppo_score_norm") else None
        self.generation_config = GenerationConfig(**generation_kwargs)
        self.logits_processor = LogitsProcessorList([InfNanRemoveLogitsProcessor()])
        self.upcast_layernorm = config.get("upcast_layernorm")
        self.ref_model = prepare_ref_model(self, ref_model)
        self.reward_model = prepare_ref_model(self, reward_model) if self.reward_type == "full" else reward_model

    def batched_forward_pass(
        self, model: Any, queries: list[torch.Tensor], responses: list[torch.Tensor], inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log-probabilities, values, response mask) of each next token, in mini-batches."""
        from trl.trainer.utils import selective_log_softmax

        all_logprobs, all_values, all_masks = [], [], []
        for start in range(0, len(queries), self.mini_batch_size):
            chunk = {key: value[start : start + self.mini_batch_size] for key, value in inputs.items()}
            input_ids, attention_mask = chunk["input_ids"], chunk["attention_mask"]
            with self.accelerator.autocast():
                logits, _, values = model(**chunk, use_cache=False)
            logprobs = selective_log_softmax(logits[:, :-1, :].float(), input_ids[:, 1:])
            masks = torch.zeros_like(attention_mask)
            masks[:, :-1] = attention_mask[:, 1:]
            for j in range(len(input_ids)):
                begin = len(queries[start + j]) - 1
                if attention_mask[j, 0] == 0:
                    begin += attention_mask[j, :].nonzero()[0].item()
                end = begin + len(responses[start + j])
                masks[j, :begin] = 0
                masks[j, end:] = 0
            all_logprobs.append(logprobs)
            all_values.append(values[:, :-1])
            all_masks.append(masks[:, :-1])
        return torch.cat(all_logprobs), torch.cat(all_values).float(), torch.cat(all_masks)

    def reference_logprobs(
        self, queries: list[torch.Tensor], responses: list[torch.Tensor], inputs: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        if self.ref_model is None:
            context = self.accelerator.unwrap_model(self.model).pretrained_model.disable_adapter()
            model = self.model
        else:
            context, model = nullcontext(), self.ref_model
        with context:
            return self.batched_forward_pass(model, queries, responses, inputs)[0]

    def normalise_scores(self, scores: torch.Tensor) -> torch.Tensor:
        """``ppo_score_norm``: scores minus the running mean, over the running standard deviation."""
        if self.score_norm is None:
            return scores
        self.score_norm.update(scores)
        return (scores - self.score_norm.mean) / (self.score_norm.std + torch.finfo(scores.dtype).eps)

    def step(self, queries: list[torch.Tensor], responses: list[torch.Tensor], scores: list[torch.Tensor]) -> dict:
        """One PPO optimisation step on a buffer of (prompt, answer, score); returns loss, kl and lr."""
        device = self.args.device
        queries = [q.to(device) for q in queries]
        responses = [r.to(device) for r in responses]
        score = self.normalise_scores(torch.stack(scores).to(device).float())
        inputs = self.prepare_model_inputs(queries, responses)
        with torch.no_grad():
            old_logprobs, values, masks = self.batched_forward_pass(self.model, queries, responses, inputs)
            ref_logprobs = self.reference_logprobs(queries, responses, inputs)
        rewards, kls = compute_rewards(score, old_logprobs, ref_logprobs, masks, self.kl_ctl.value)
        values, advantages, returns = compute_advantages(values, rewards, masks, self.hp)
        losses = []
        size = len(queries)
        for _ in range(self.ppo_epochs):
            order = np.random.permutation(size)
            for start in range(0, size, self.mini_batch_size):
                index = order[start : start + self.mini_batch_size]
                with self.accelerator.accumulate(self.model):
                    chunk = {key: value[index] for key, value in inputs.items()}
                    logprobs, vpreds, _ = self.batched_forward_pass(
                        self.model, [queries[i] for i in index], [responses[i] for i in index], chunk
                    )
                    old = (old_logprobs[index], values[index])
                    targets = (masks[index], advantages[index], returns[index])
                    pg_loss, vf_loss = ppo_loss(*old, logprobs, vpreds, *targets, self.hp)
                    loss = pg_loss + vf_loss
                    self.accelerator.backward(loss)
                    if self.args.max_grad_norm and self.accelerator.sync_gradients:
                        self.accelerator.clip_grad_norm_(self.model.parameters(), self.args.max_grad_norm)
                    self.optimizer.step()
                    self.optimizer.zero_grad()
                losses.append(loss.detach().float())
        mean_kl = (kls * masks).sum(dim=-1).mean()
        mean_kl = self.accelerator.reduce(mean_kl, "mean").item() if self.accelerator.num_processes > 1 else mean_kl
        self.kl_ctl.update(float(mean_kl), size * self.accelerator.num_processes)
        learning_rate = self.optimizer.param_groups[0]["lr"]
        self.lr_scheduler.step()
        return {"loss": torch.stack(losses).mean().item(), "kl": float(mean_kl), "learning_rate": learning_rate}

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self.args.output_dir, f"checkpoint-{self.state.global_step}")
            running = None if self.score_norm is None else vars(self.score_norm).copy()
            if running is not None:
                running.pop("accelerator")
            with open(os.path.join(folder, PPO_STATE_FILE), "w", encoding="utf-8") as handle:
                json.dump({"kl_coef": self.kl_ctl.value, "score_norm": running}, handle)

    def _load_ppo_state(self, folder: str) -> None:
        path = os.path.join(folder, PPO_STATE_FILE)
        if not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
        self.kl_ctl.value = saved["kl_coef"]
        if self.score_norm is not None and saved.get("score_norm"):
            for key, value in saved["score_norm"].items():
                setattr(self.score_norm, key, value)

    def _dataloader(self) -> Any:
        from torch.utils.data import DataLoader

        generator = torch.Generator().manual_seed(self.args.seed)
        loader = DataLoader(
            self.train_dataset,
            batch_size=self.batch_size,
            shuffle=not self.lmf_config.get("disable_shuffling"),
            collate_fn=lambda rows: self.data_collator(
                [{key: row[key] for key in ("input_ids", "attention_mask")} for row in present_rows(rows)]
            ),
            drop_last=True,
            generator=generator,
        )
        if len(loader) == 0:
            raise ValueError(
                f"the dataset has {len(self.train_dataset)} rows, fewer than one PPO batch of {self.batch_size} "
                "(per_device_train_batch_size x gradient_accumulation_steps x ppo_buffer_size); lower those"
            )
        return loader

    def _init_state(self, max_steps: int, epochs: float) -> None:
        stateful = [cb for cb in [*self.callback_handler.callbacks, self.control] if isinstance(cb, ExportableState)]
        self.state = TrainerState(stateful_callbacks=stateful)
        self.state.max_steps = max_steps
        self.state.num_train_epochs = epochs
        self.state.logging_steps = _steps(self.args.logging_steps, max_steps)
        self.state.save_steps = _steps(self.args.save_steps, max_steps)
        self.state.train_batch_size = self.batch_size
        self.state.is_local_process_zero = self.is_local_process_zero()
        self.state.is_world_process_zero = self.is_world_process_zero()

    def ppo_train(self, resume_from_checkpoint: str | None = None) -> dict[str, float]:
        """The training loop (LLaMA-Factory's ``ppo_train``); returns the run's train metrics."""
        from transformers.trainer_utils import speed_metrics

        args = self.args
        if resume_from_checkpoint is not None:
            self._load_from_checkpoint(resume_from_checkpoint)
        loader = self._dataloader()
        if args.max_steps > 0:
            max_steps, steps_in_epoch = args.max_steps, args.max_steps
        else:
            steps_in_epoch = len(loader) // max(self.accelerator.num_processes, 1) or 1
            max_steps = math.ceil(args.num_train_epochs * steps_in_epoch)
        self.create_optimizer_and_scheduler(num_training_steps=max_steps)
        self.model, self.optimizer, loader = self.accelerator.prepare(self.model, self.optimizer, loader)
        self.model_wrapped = self.model
        if self.is_deepspeed_enabled:
            self.deepspeed = self.model
        self._init_state(max_steps, max_steps / steps_in_epoch)
        if resume_from_checkpoint is not None:
            saved = TrainerState.load_from_json(os.path.join(resume_from_checkpoint, TRAINER_STATE_NAME))
            self.state.global_step, self.state.epoch = saved.global_step, saved.global_step / steps_in_epoch
            self.state.log_history, self.state.total_flos = saved.log_history, saved.total_flos
            self._load_optimizer_and_scheduler(resume_from_checkpoint)
            self._load_ppo_state(resume_from_checkpoint)
        handler = self.callback_handler
        handler.model, handler.optimizer, handler.lr_scheduler = self.model, self.optimizer, self.lr_scheduler
        handler.train_dataloader = loader
        start_time, start_step = time.time(), self.state.global_step
        data = iter(loader)
        loss_meter, reward_meter, run_loss, run_reward = Meter(), Meter(), Meter(), Meter()
        self.control = handler.on_train_begin(args, self.state, self.control)
        while self.state.global_step < max_steps:
            try:
                batch = next(data)
            except StopIteration:
                data = iter(loader)
                batch = next(data)
            self.control = handler.on_step_begin(args, self.state, self.control)
            self.model.eval()
            self.processing_class.padding_side = "right"
            queries, responses, scores = [], [], []
            for start in range(0, self.batch_size, self.mini_batch_size):
                mini = {
                    key: batch[key][start : start + self.mini_batch_size] for key in ("input_ids", "attention_mask")
                }
                mini_queries, mini_responses = self.get_inputs(mini)
                queries += mini_queries
                responses += mini_responses
                scores += self.get_rewards(mini_queries, mini_responses)
            self.model.train()
            stats = self.step(queries, responses, scores)
            self.processing_class.padding_side = "left"
            mean_reward = torch.stack(scores).mean().item()
            for meter, value in ((loss_meter, stats["loss"]), (run_loss, stats["loss"])):
                meter.update(value, len(scores))
            for meter in (reward_meter, run_reward):
                meter.update(mean_reward, len(scores))
            self.state.global_step += 1
            self.state.epoch = self.state.global_step / steps_in_epoch
            self.control = handler.on_step_end(args, self.state, self.control)
            if self.control.should_log:
                logs = {"loss": round(loss_meter.pop(), 4), "reward": round(reward_meter.pop(), 4)}
                self.log({**logs, "learning_rate": stats["learning_rate"]})
            if self.control.should_save:
                self._save_checkpoint(self.model, trial=None)
                self.control = handler.on_save(args, self.state, self.control)
            self.control.should_log = self.control.should_save = self.control.should_evaluate = False
            if self.control.should_training_stop:
                break
        self.control = handler.on_train_end(args, self.state, self.control)
        steps = self.state.global_step - start_step
        metrics = speed_metrics("train", start_time, num_samples=steps * self.batch_size, num_steps=steps)
        metrics.update(train_loss=run_loss.pop(), train_reward=run_reward.pop(), epoch=self.state.epoch)
        return metrics
