"""timm models and where their weights come from.

factory    create_model with hub / offline (bundled package) / local-checkpoint weights; normalisation
catalogue  timm's model, optimizer and scheduler names (form, config checks), without importing timm
"""

from __future__ import annotations

from core.models.catalogue import model_catalogue
from core.models.factory import create_model, normalisation

__all__ = ["create_model", "model_catalogue", "normalisation"]
