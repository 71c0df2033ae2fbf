"""Figures and widgets for every chapter: ``xf.viz.plot_items(...)``, ``xf.viz.explanation_explorer(wb)``.

``figures`` holds pure figure functions (data in, optional ``ax``, ``(fig, ax)`` or a figure out)
and the plain view functions the widgets call; ``widgets`` wraps those views in ipywidgets, so a
headless run still draws every figure.
"""
from .figures import *  # noqa: F403 - the figure functions are this namespace's API
from .figures import __all__ as _figures
from .widgets import *  # noqa: F403
from .widgets import __all__ as _widgets

__all__ = [*_figures, *_widgets]
