"""The papers' torch architectures, one module per family trunk (pure torch; no specs, no checkpoints)."""
