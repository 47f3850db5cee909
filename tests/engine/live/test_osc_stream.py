"""The OSC stream: our encoder against the OSC 1.0 spec's example, then a UDP receiver on 127.0.0.1 that decodes every
frame to the recorded joints (plain) and to the solver's rotations (VMC)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import numpy as np
import pytest

from engine.live.engine import ModelInfo
from engine.live.export import bvh_solver as S
from engine.live.recording.writer import load_recording
from engine.live.stream.formats import VMC_BONES, yup_from_camera
from engine.live.stream.osc import bundle, decode, message
from engine.live.stream.sender import OscStreamer, parse_stream_address
from models.joints import H36M18
from tests.engine.live.test_bvh import rigid_motion
from tests.engine.live.test_live_engine import MODEL, _engine

INFO = ModelInfo("m18", "m18", True, "h36m18", H36M18.names, H36M18.root)


@pytest.fixture
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _drain(sock: socket.socket, n: int) -> list[list[tuple]]:
    got = []
    for _ in range(n):
        got.append(decode(sock.recv(65536)))
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(65536)  # nothing beyond the frames sent
    return got


def test_encoder_matches_the_spec_example():
    # OSC 1.0 spec, "Examples": /oscillator/4/frequency with the float 440.0
    expect = bytes.fromhex("2f6f7363696c6c61746f722f342f6672657175656e6379002c66000043dc0000")
    assert message("/oscillator/4/frequency", [440.0]) == expect
    pkt = bundle([message("/a", [1, "xyz", 2.5, True]), message("/b")])
    assert pkt[:16] == b"#bundle\0" + bytes(7) + b"\x01"
    assert decode(pkt) == [("/a", (1, "xyz", 2.5, True)), ("/b", ())]


def test_stream_addresses_default_to_loopback():
    assert parse_stream_address(None) == ("127.0.0.1", 39539)
    assert parse_stream_address("osc://10.0.0.5:9000") == ("10.0.0.5", 9000)
    assert parse_stream_address("localhost") == ("localhost", 39539)
    for bad in ("http://x:1", "osc://x:0", "osc://x:port"):
        with pytest.raises(ValueError, match="stream address"):
            parse_stream_address(bad)


def _result(i: int, cam: np.ndarray, ids=(5,)) -> SimpleNamespace:
    pose = SimpleNamespace(joints_cam_mm=cam)
    return SimpleNamespace(frame_id=i, capture_ts=50.0 + i, media_ts=i / 30, track_ids=np.array(ids),
                           outputs={"m18": pose}, smoothed={"m18": pose})


def _frames(n: int) -> list[np.ndarray]:
    """[n] camera-mm poses [1,18,3] of the rigid skeleton (Thorax: a copy of the neck)."""
    yup = rigid_motion(n, seed=7)
    cam = yup_from_camera(yup)  # the same flip both ways
    return [np.concatenate([c, c[8:9]])[None] for c in cam]


def test_vmc_frames_decode_to_the_solved_rotations(receiver):
    frames = _frames(12)
    port = receiver.getsockname()[1]
    streamer = OscStreamer(f"osc://127.0.0.1:{port}", [INFO], fmt="vmc", queue_frames=len(frames))
    for i, cam in enumerate(frames):
        streamer.submit(_result(i, cam))
    stats = streamer.close()
    assert (stats.sent, stats.dropped, stats.errors) == (len(frames), 0, 0)
    packets = _drain(receiver, len(frames))
    unity_to_ours = np.diag([-1.0, 1.0, 1.0])
    for i, (cam, msgs) in enumerate(zip(frames, packets, strict=True)):
        yup = yup_from_camera(cam[0, :17]) / 1000.0
        local = S.local_rotations(S.solve_rotations(yup[None]))[0]
        addresses = [a for a, _ in msgs]
        assert addresses[0] == "/VMC/Ext/Root/Pos" and addresses[-2:] == ["/VMC/Ext/OK", "/VMC/Ext/T"]
        assert msgs[-1][1][0] == pytest.approx(i / 30, abs=1e-6)
        root = msgs[0][1]
        assert root[0] == "root" and np.allclose(unity_to_ours @ np.array(root[1:4]), yup[0], atol=1e-5)
        bones = {args[0]: np.array(args[1:], dtype=np.float64) for a, args in msgs if a == "/VMC/Ext/Bone/Pos"}
        assert set(bones) == set(VMC_BONES.values())
        world_r = {}
        world_p = {}
        for j, name in enumerate(S.BONE_NAMES):
            if name not in VMC_BONES:
                continue
            pos, q = bones[VMC_BONES[name]][:3], bones[VMC_BONES[name]][3:]
            x, y, z, w = q
            r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                          [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                          [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
            r = unity_to_ours @ r @ unity_to_ours  # back to our right-handed Y-up frame
            assert np.allclose(r, local[j], atol=1e-5), name
            p = S.PARENTS[j]
            world_r[j] = r if p < 0 else world_r[p] @ r
            world_p[j] = yup[0] if p < 0 else world_p[p] + world_r[p] @ (unity_to_ours @ pos)
        got = np.array([world_p[j] for j in sorted(world_p)])
        assert np.abs(got - yup[sorted(world_p)]).max() < 1e-5  # the bones rebuild the pose (forward kinematics)


def test_plain_frames_from_the_engine_decode_to_the_recorded_joints(tmp_path, receiver):
    port = receiver.getsockname()[1]
    engine, _ = _engine(6, record=str(tmp_path / "r.h5"), stream=f"osc://127.0.0.1:{port}")
    results = []
    engine.subscribe(results.append)
    with engine:
        engine.wait(30)
    stats = engine.streamer.stats()
    assert stats.sent + stats.dropped == 6 and stats.errors == 0
    packets = _drain(receiver, stats.sent)
    rec = load_recording(tmp_path / "r.h5")
    recorded = rec.models[MODEL].smoothed["joints_cam_mm"]
    row = {int(fid): i for i, fid in enumerate(rec.frame_id)}
    for msgs in packets:
        (addr, (model, fid, t, persons)), *poses = msgs
        assert addr == "/posearena/frame" and model == MODEL and persons == 2 and len(poses) == 2
        i = row[fid]
        for p, (paddr, args) in enumerate(poses):
            assert paddr == "/posearena/pose" and args[:3] == (MODEL, [3, 8][p], fid)
            joints = np.array(args[5:]).reshape(args[4], 3) * 1000.0
            assert np.allclose(joints, recorded[i, p], atol=0.01, equal_nan=True)
    assert {m[0][1][1] for m in packets} <= set(rec.frame_id.tolist())


def test_a_stopped_receiver_and_a_full_queue_never_block(receiver):
    port = receiver.getsockname()[1]
    receiver.close()  # nobody listens on that port now
    streamer = OscStreamer(f"osc://127.0.0.1:{port}", [INFO], queue_frames=2)
    cam = _frames(1)[0]
    for i in range(200):
        streamer.submit(_result(i, cam))  # returns at once whatever the sender does
    stats = streamer.close()
    assert stats.sent + stats.dropped == 200 and stats.sent >= 1


def test_the_stream_model_must_be_running():
    with pytest.raises(ValueError, match="'nope' is not running"):
        OscStreamer(None, [INFO], model="nope")
    with pytest.raises(ValueError, match="unknown stream format"):
        OscStreamer(None, [INFO], fmt="midi")
