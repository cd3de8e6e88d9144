"""Model sources: built-in zoo, Python factories and ONNX files."""

# Each model module registers its zoo entries when imported: the registry knows them all as
# soon as any part of the package is used.
from . import zoo, zoo_hf, zoo_keras, zoo_trained  # noqa: F401
