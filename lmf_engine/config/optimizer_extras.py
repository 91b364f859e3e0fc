"""The optional packages of the LLaMA-Factory optimizers (GaLore, APOLLO, BAdam, Adam-mini) and the one-line error
naming the ``lmf-workbench`` extra that installs a missing one. Muon needs no package (lmf_engine/train/muon.py)."""

from dataclasses import dataclass

from ..util.packages import installed
from .groups import Config


@dataclass(frozen=True)
class OptimizerPackage:
    """The package a ``use_*`` key needs: its import name, its distribution name and the extra that installs it."""

    key: str
    module: str
    distribution: str
    extra: str

    @property
    def message(self) -> str:
        return f"{self.key} needs the {self.distribution} package: pip install 'lmf-workbench[{self.extra}]'"


OPTIMIZER_PACKAGES: tuple[OptimizerPackage, ...] = (
    OptimizerPackage("use_galore", "galore_torch", "galore-torch", "galore"),
    OptimizerPackage("use_apollo", "apollo_torch", "apollo-torch", "apollo"),
    OptimizerPackage("use_badam", "badam", "badam", "badam"),
    OptimizerPackage("use_adam_mini", "adam_mini", "adam-mini", "adam-mini"),
)


GALORE_CLASSES = {
    "adamw_torch": "GaLoreAdamW",
    "adamw_bnb_8bit": "GaLoreAdamW8bit",
    "adamw_8bit": "GaLoreAdamW8bit",
    "paged_adamw_8bit": "GaLoreAdamW8bit",
    "adafactor": "GaLoreAdafactor",
}
"""galore-torch's optimizer class for each ``optim`` GaLore works with (LLaMA-Factory's choice)."""
APOLLO_CLASSES = {"adamw_torch": "APOLLOAdamW"}
"""apollo-torch's optimizer class for each ``optim`` APOLLO works with."""


class OptimizerPackageMissing(ImportError):
    """An optimizer's package is not installed; the message names the extra to install."""


def missing_optimizer_package(config: Config) -> str | None:
    """The one-line message for the first optimizer the config asks for whose package is not installed."""
    for package in OPTIMIZER_PACKAGES:
        if config.get(package.key) and not installed(package.module):
            return package.message
    return None


def require_optimizer_packages(config: Config) -> None:
    """Raise :class:`OptimizerPackageMissing` when an optimizer the config asks for is not installed."""
    message = missing_optimizer_package(config)
    if message is not None:
        raise OptimizerPackageMissing(message)
