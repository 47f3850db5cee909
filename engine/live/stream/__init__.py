"""The live pose stream: OSC over UDP (``osc``: the encoder; ``formats``: the plain and VMC message sets;
``sender``: ``OscStreamer``, off the inference thread)."""
