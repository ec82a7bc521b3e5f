"""Staging: running what changed in a staging namespace, never in the live module.

`core` holds what staging produces (`Staged` and its parts) and the `Stage` that runs
statements and compiles definitions; `module` stages a module body, `classes` a class
body. Nothing live is
modified here: the result is plain data for the planner.
"""

from .core import ClassEdit, FunctionPatch, Replacement, Stage, Staged
from .module import stage

__all__ = ["ClassEdit", "FunctionPatch", "Replacement", "Stage", "Staged", "stage"]
