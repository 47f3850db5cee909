"""MediaPipe BlazePose GHUM (33 landmarks + metric 3D world landmarks) run with LiteRT on PoseArena's crops.

``runtime.BlazePoseLandmarker`` runs the landmark model; ``landmarks`` holds the 33-landmark topology and the mapping
onto H36M18. The person detector is ``engine.live.detector_blazepose.BlazePoseDetector``. Notes: docs/blazepose.md.
Importing this package does not import the LiteRT runtime (that happens when a model is loaded).
"""
