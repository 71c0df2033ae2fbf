"""xfashion: explainable outfit scoring."""
__version__ = "0.1.0"
