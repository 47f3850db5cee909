"""A benchmark run: its configuration (``config``), inference with resume (``infer``), scoring (``score``) and the
locked, resumable ``runner`` the CLI and the GUI share."""
