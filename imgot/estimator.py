"""scikit-learn's parameter protocol, shared by imgot's estimators, without importing scikit-learn.

``get_params``/``set_params`` read the constructor's signature, so that
``sklearn.base.clone``, pipelines and grid searches work; ``__sklearn_tags__``
is built only when scikit-learn asks for it.
"""

from __future__ import annotations

import inspect

__all__ = ["ParamsMixin"]


def _same(value, default) -> bool:
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):  # arrays compare element by element
        return False


class ParamsMixin:
    """``get_params``, ``set_params``, a short ``repr`` and scikit-learn's transformer tags."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        # **deprecated (old names of renamed parameters) is not a parameter of its own.
        return sorted(name for name, p in inspect.signature(cls.__init__).parameters.items()
                      if name != "self" and p.kind is not p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters, as scikit-learn's ``get_params`` (for clone, grid search)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params``; returns self.

        Raises
        ------
        ValueError
            For a name that is not a parameter (the message lists them).
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{name}={value!r}" for name, value in self.get_params().items()
                   if not _same(value, defaults.get(name))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        # A transformer's tags (inheriting BaseEstimator would import scikit-learn with imgot).
        from sklearn.utils import Tags, TargetTags, TransformerTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(), regressor_tags=None, classifier_tags=None)
