"""The live pipeline: sources, capture, detection, smoothing, the engine, recording and exports."""
