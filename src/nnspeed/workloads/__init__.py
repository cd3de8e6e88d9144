"""Model sources: built-in zoo, Python factories and ONNX files."""
