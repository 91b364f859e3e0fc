"""A/B chat: one prompt to two targets, both answers streaming at once.

Two transformers targets on the same base model (same resolved ``model_name_or_path`` and the same keys that shape
the base weights, :data:`WEIGHT_KEYS`), each the base alone or the base plus one LoRA adapter, share ONE copy of the
base: a peft ``PeftModel`` holding each target's adapter unmerged under its own name, the base target served with the
adapters off (peft's ``"__base__"`` row). :func:`stream_both` runs both answers as ONE batched ``generate`` (peft's
mixed-adapter batch: an adapter name per row, left padding), so they stream together without two threads on one
model (peft's active adapter is global state). Every other pair is two independent engines, each streaming in its
own thread.

    a, b = open_pair(config_a, config_b)             # heavy: in a worker thread
    stream_a, stream_b = stream_both(a, b, history_a, history_b, temperature=0.7)

Rules of a shared batch:

- Settings: one set for both rows, the first request's (A's); the second target's settings and overrides are not
  used (the comparison is between models, not settings). ``num_beams`` above 1 is refused.
- Stop ids: ``generate`` ends every row at any stop id of either template (the union): the templates of one base
  model almost always agree.
- Cancelling: ``stream.cancel()`` ends its own row only; ``engine.stop()`` ends that target's rows.
- Numerics: an adapter applied unmerged (``x W + s x A B``) differs from LLaMA-Factory's merged weights
  (``x (W + s A B)``) by float rounding only; greedy answers may part after many tokens where two logits nearly tie.
- Both streams of a pair are read in one event loop; the batch starts when the first of them is read, and the other's
  text waits for its reader.
"""

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import ChatEngine, ChatStream, Generation, Request
from .errors import RequestError
from .factory import create_engine
from .handoff import Handoff, Worker
from .hf_engine import DONE, close_worker, finish_generation, handoff_texts, load_text_side, release_memory
from .messages import MessageLike
from .prompt import PromptBuilder
from .settings import base_settings

if TYPE_CHECKING:
    from lmf_engine.config import Config

    from .batch_stream import RowOutput
    from .hf_stream import GenerateCall, Generator

__all__ = ["WEIGHT_KEYS", "SharedBaseEngine", "open_pair", "parameter_bytes", "share_reason", "stream_both"]

WEIGHT_KEYS = (
    "trust_remote_code",
    "model_revision",
    "cache_dir",
    "use_fast_tokenizer",
    "split_special_tokens",
    "resize_vocab",
    "add_tokens",
    "add_special_tokens",
    "rope_scaling",
    "flash_attn",
    "enable_liger_kernel",
    "upcast_layernorm",
    "upcast_lmhead_output",
    "train_from_scratch",
    "infer_dtype",
    "quantization_method",
    "quantization_bit",
    "quantization_type",
    "double_quantization",
    "quantization_device_map",
    "offload_folder",
    "use_cpu",
)
"""Keys besides ``model_name_or_path`` that change the base weights, their tokenizer or where they load."""

BASE = "__base__"
"""peft's adapter name for rows served by the base model alone."""


def _model_path(config: "Config") -> str:
    path = str(config.get("model_name_or_path") or "")
    return str(Path(path).resolve()) if path and Path(path).exists() else path


class _Unshared(Exception):
    """Why a target cannot share a base model."""


def _adapter(config: "Config") -> str | None:
    """The target's single LoRA adapter, None for the base alone; :class:`_Unshared` when it cannot share a base."""
    from lmf_engine.model.adapters import adapter_paths, read_adapter_config
    from lmf_engine.model.errors import ModelLoadError

    if config.get("finetuning_type") not in ("lora", "oft"):
        return None
    try:
        paths = adapter_paths(config)
    except ModelLoadError as exc:
        raise _Unshared(f"cannot load its adapter ({exc})") from None
    if len(paths) > 1:
        raise _Unshared(f"stacks {len(paths)} adapters (they are merged into its own copy of the model)")
    if not paths:
        return None
    settings = read_adapter_config(paths[0], config.get("adapter_folder"))
    if settings is None:
        raise _Unshared(f"has its adapter {paths[0]!r} outside a local folder")
    if settings.get("peft_type", "LORA") != "LORA" or settings.get("use_dora"):
        raise _Unshared("has an adapter that is not plain LoRA (DoRA and other kinds cannot share a batch)")
    return paths[0]


def share_reason(a: "Config", b: "Config") -> str | None:
    """None when the two configs can share one base model in memory; else a short reason why not (shown to the user).

    Reads the configs and the adapters' ``adapter_config.json``, never a model.
    """
    for config, label in ((a, "A"), (b, "B")):
        if config.get("infer_backend") != "huggingface":
            return f"{label} runs on {config.get('infer_backend')}; only transformers targets share a base model"
        if config.get("stage") == "rm":
            return f"{label} is a reward model (stage: rm)"
        try:
            _adapter(config)
        except _Unshared as exc:
            return f"{label} {exc}"
    if _model_path(a) != _model_path(b):
        return f"different base models ({a.get('model_name_or_path')} and {b.get('model_name_or_path')})"
    for key in WEIGHT_KEYS:
        if a.get(key) != b.get(key):
            return f"different {key} ({a.get(key)!r} and {b.get(key)!r})"
    resized = a.get("resize_vocab") or a.get("add_tokens") or a.get("add_special_tokens")
    if resized and a.get("template") != b.get("template"):
        return "a resized vocabulary with different templates"
    return None


def open_pair(a: "Config", b: "Config") -> tuple[ChatEngine, ChatEngine]:
    """Two engines for an A/B chat. Sharing configs -> two views on one base model (one copy of the base weights);
    otherwise two independent engines from :func:`.factory.create_engine`. Heavy: call in a worker thread.
    """
    if share_reason(a, b) is not None:
        return create_engine(a), create_engine(b)
    from lmf_engine.model.adapters import attach_adapters
    from lmf_engine.model.loader import load_model

    texts = [load_text_side(config) for config in (a, b)]
    model = load_model(a, texts[0][0], is_trainable=False, adapters=False)
    paths = [_adapter(config) for config in (a, b)]
    configs: dict[str, Config] = {}
    for path, config in zip(paths, (a, b), strict=True):
        if path:
            configs.setdefault(path, config)  # the same adapter on both sides is loaded once
    names = {path: f"target_{i}" for i, path in enumerate(configs)}
    if configs:
        model = attach_adapters(model, [(names[path], path, config) for path, config in configs.items()])
    shared = SharedBase(model, texts[0][0], users=2)
    view_a, view_b = (
        SharedBaseEngine(config, shared, names[path] if path else None, text)
        for config, path, text in zip((a, b), paths, texts, strict=True)
    )
    return view_a, view_b


def stream_both(
    a: ChatEngine,
    b: ChatEngine,
    messages_a: Sequence[MessageLike],
    messages_b: Sequence[MessageLike],
    system: str | None = None,
    tools: str | None = None,
    **gen: Any,
) -> tuple[ChatStream, ChatStream]:
    """Start both answers. Views on one shared base run as ONE batched generate; other engines each stream on their
    own (they already run in their own threads). Each returned object is a normal ChatStream: async-iterate it for
    text chunks; ``.response`` afterwards (text, reasoning, tool_calls, prompt_tokens, completion_tokens,
    finish_reason 'stop'|'length'|'cancelled'); ``.cancel()`` stops it (its own row of a shared batch only).

    A shared batch runs with A's request's settings for both rows (see the module's rules).
    """
    request_a = a.request(messages_a, system, tools, **gen)
    request_b = b.request(messages_b, system, tools, **gen)
    if isinstance(a, SharedBaseEngine) and isinstance(b, SharedBaseEngine) and a.shared and a.shared is b.shared:
        if request_a.images or request_b.images:
            raise RequestError(
                "pictures in an A/B chat of two views on one base model are not supported yet: chat with one side",
                "images",
            )
        return _batch((a, request_a), (b, request_b))
    return ChatStream(a, request_a), ChatStream(b, request_b)


def _batch(
    first: tuple["SharedBaseEngine", Request], second: tuple["SharedBaseEngine", Request]
) -> tuple[ChatStream, ChatStream]:
    """A stream per target, each a row of one batch with the first request's settings (read first, it starts)."""
    job = _Job(first[1].settings)
    streams = []
    for engine, request in (first, second):
        row = _Row(engine, job, request.prompt_ids or [])
        paired = _PairedRequest(**{f.name: getattr(request, f.name) for f in fields(Request)}, row=row)
        paired.settings = job.settings
        stream = ChatStream(engine, paired)
        row.generation = stream.generation
        job.rows.append(row)
        streams.append(stream)
    return streams[0], streams[1]


def parameter_bytes(*engines: ChatEngine) -> int:
    """Bytes of the distinct parameter tensors the engines hold (a shared base counted once).

    Counts the storage under each parameter once per device, so tied weights and a base two views share count once;
    engines without an in-process model (vLLM, OpenAI, closed ones) hold none.
    """
    storages: dict[tuple[str, int], int] = {}
    for engine in engines:
        model = getattr(engine, "model", None)
        if model is None:
            continue
        for param in model.parameters():
            if param.device.type != "meta":
                storage = param.untyped_storage()
                storages[(str(param.device), storage.data_ptr())] = storage.nbytes()
    return sum(storages.values())


@dataclass(eq=False)
class _Job:
    """One batched generation: the settings of every row, and its rows (one per chat)."""

    settings: dict[str, Any]
    rows: list["_Row"] = field(default_factory=list)
    started: bool = False


@dataclass(eq=False)
class _Row:
    """One chat in a batch: its target, its prompt, its generation, and (once the batch starts) its handoff."""

    engine: "SharedBaseEngine"
    job: _Job
    prompt: list[int]
    generation: Generation = field(default_factory=Generation)
    stream: bool = True
    handoff: Handoff | None = None
    output: "RowOutput | None" = None

    def post(self, item: Any) -> None:
        """Hand ``item`` to the row's reader; a reader whose loop is gone cancels the row."""
        assert self.handoff is not None
        if not self.handoff.post(item):
            self.generation.cancel()


@dataclass
class _PairedRequest(Request):
    """A request that is one row of a batch :func:`stream_both` started."""

    row: _Row | None = None


class SharedBase:
    """One base model (a PeftModel when a target has an adapter), the worker thread every generation on it runs in,
    and how many views still use it (the last to close drops the model).
    """

    def __init__(self, model: Any, tokenizer: Any, users: int) -> None:
        from .hf_stream import Generator

        self.model: Any = model
        self.generator: Generator | None = Generator(model, tokenizer)
        self.mixed = hasattr(model, "peft_config")
        self.worker = Worker("lmf-generate-pair")
        self.running: _Job | None = None
        self._users = users

    def start(self, job: _Job) -> None:
        """Build the batch in this thread (the first reader's) and queue it: every row gets its handoff now."""
        from .batch_stream import RowOutput, prepare_batch
        from .hf_stream import CallbackStreamer

        assert self.generator is not None, "the shared model is closed"
        skip = job.settings["skip_special_tokens"]
        stop_ids = list(dict.fromkeys(i for row in job.rows for i in row.engine.stop_ids))
        outputs = []
        for row in job.rows:
            row.handoff = Handoff()
            interval = row.engine.stream_interval
            streamer = CallbackStreamer(row.engine.tokenizer, skip, row.post, interval) if row.stream else None
            row.output = RowOutput(row.generation.cancel_event, streamer)
            outputs.append(row.output)
        names = [row.engine.adapter or BASE for row in job.rows] if self.mixed else None
        call = prepare_batch(self.generator, [row.prompt for row in job.rows], outputs, job.settings, stop_ids, names)
        generator = self.generator
        self.worker.submit(lambda: self._work(generator, job, call, stop_ids))
        job.started = True

    def _work(self, generator: "Generator", job: _Job, call: "GenerateCall", stop_ids: list[int]) -> None:
        """Generate the batch in the worker thread and fill in each row's generation; then post the end to each."""
        self.running = job
        try:
            if all(row.generation.cancelled for row in job.rows):
                for row in job.rows:
                    row.generation.finish_reason = "cancelled"
                return
            generator.generate(call)
            skip = job.settings["skip_special_tokens"]
            for row in job.rows:
                ids = row.output.ids if row.output is not None else []
                finish_generation(row.generation, ids, len(row.prompt), row.engine.tokenizer, stop_ids, skip)
        except Exception as exc:
            for row in job.rows:
                row.post(exc)
        finally:
            self.running = None
            for row in job.rows:
                row.post(DONE)

    async def release(self) -> None:
        """One view fewer; the last one lets the worker finish and drops the model (its GPU memory is freed)."""
        self._users -= 1
        if self._users > 0 or self.generator is None:
            return
        await close_worker(self.worker)
        self.model = self.generator = None
        release_memory()


class SharedBaseEngine(ChatEngine):
    """One target of a shared base model: its own tokenizer, template, stop ids and settings, the model's rows
    served with its adapter (``adapter``; None: the base alone). Alone it generates a batch of one.
    """

    name = "huggingface"

    def __init__(
        self, config: "Config", shared: SharedBase, adapter: str | None, text: tuple[Any, Any, list[int]]
    ) -> None:
        super().__init__(base_settings(config))
        self.tokenizer, self.template, self.stop_ids = text
        self.shared: SharedBase | None = shared
        self.adapter = adapter
        self.model_name = Path(str(config.get("model_name_or_path"))).name
        self.context_length = getattr(shared.model.config, "max_position_embeddings", None)
        self.prompts = PromptBuilder(self.template, self.tokenizer, self.context_length)

    @property
    def model(self) -> Any:
        """The shared model (a PeftModel holding every target's adapter), None once this view is closed."""
        return self.shared.model if self.shared is not None else None

    @property
    def device(self) -> Any:
        assert self.shared is not None and self.shared.generator is not None, "the engine is closed"
        return self.shared.generator.device

    def request(self, messages: Any, system: str | None = None, tools: str | None = None, **gen: Any) -> Request:
        request = super().request(messages, system, tools, **gen)
        if (request.settings.get("num_beams") or 1) > 1:
            raise RequestError("num_beams: a model shared by two targets generates without beam search", "num_beams")
        request.prompt_ids = self.prompts.ids(request)
        return request

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        shared = self.shared
        assert shared is not None, "the engine is closed"
        row = request.row if isinstance(request, _PairedRequest) else None
        if row is None:
            row = _Row(self, _Job(request.settings), request.prompt_ids or [], generation, stream)
            row.job.rows.append(row)
        if not row.job.started:
            shared.start(row.job)
        assert row.handoff is not None
        async for text in handoff_texts(row.handoff):
            yield text

    def stop(self) -> None:
        """End this target's current generation, and its row of the batch that runs now (read or not)."""
        super().stop()
        job = self.shared.running if self.shared is not None else None
        for row in job.rows if job is not None else ():
            if row.engine is self:
                row.generation.cancel()

    async def aclose(self) -> None:
        """Stop this target's generation and let go of the shared model (the last view to close frees it)."""
        self.stop()
        shared, self.shared = self.shared, None
        if shared is not None:
            await shared.release()
