#!/usr/bin/env python3
"""Make assets/demo_person.mp4: a virtual camera that follows one pedestrian of OpenCV's vtest.avi.

Source: OpenCV sample video samples/data/vtest.avi (Debian package opencv-doc:
/usr/share/doc/opencv-doc/examples/data/vtest.avi; 768x576, 10 fps, 795 frames).
The woman in the dark coat who walks alone across the lawn (source frames FIRST..LAST) is tracked with
classical background subtraction (per-pixel median background + connected components + nearest-blob
association); a crop window that follows her, sized proportionally to her height, is upscaled
(Lanczos) so that she is about TARGET_PX pixels tall in a 640x480 frame.  No pixels are synthesised:
every output frame is a crop of one real source frame.  Deterministic; needs only numpy and OpenCV.

    python scripts/make_demo_clip.py [--src PATH] [--out assets/demo_person.mp4]
"""

import argparse
import os

import cv2
import numpy as np

SRC = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
FIRST, LAST = 600, 718  # source frames used (inclusive) -> 119 frames, 11.9 s at 10 fps
SEED_FRAME, SEED_XY = 620, (390, 576)  # she is the blob whose feet are nearest to this point
OUT_W, OUT_H = 640, 480
TARGET_PX = 380  # her height in the output frame


def read_all(path):
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    if not frames:
        raise SystemExit(f"cannot read {path}")
    return np.stack(frames), (fps if fps and fps > 0 else 10.0)


def blobs(frames):
    bg = np.median(frames[::5], axis=0).astype(np.uint8)
    k_open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    k_close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 15))
    out = []
    for f in frames:
        m = (cv2.absdiff(f, bg).max(axis=2) > 35).astype(np.uint8) * 255
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, k_open)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k_close)
        n, _, st, _ = cv2.connectedComponentsWithStats(m)
        out.append([st[j, :4].astype(float) for j in range(1, n) if st[j, 4] > 300 and st[j, 3] > 40])
    return out


def feet(b):
    return np.array([b[0] + b[2] / 2, b[1] + b[3]])


def track(bl):
    cur = min(bl[SEED_FRAME], key=lambda b: np.linalg.norm(feet(b) - SEED_XY))
    tr = {SEED_FRAME: cur}
    for rng in (range(SEED_FRAME + 1, LAST + 1), range(SEED_FRAME - 1, FIRST - 1, -1)):
        p = feet(cur)
        for i in rng:
            d = [np.linalg.norm(feet(b) - p) for b in bl[i]]
            j = int(np.argmin(d))
            if d[j] > 25:
                raise SystemExit(f"track lost at frame {i}")
            tr[i] = bl[i][j]
            p = feet(bl[i][j])
    return np.array([tr[i] for i in range(FIRST, LAST + 1)])  # x, y, w, h


def smooth(v, win=9):
    pad = win // 2
    vp = np.pad(v, (pad, pad), mode="edge")
    return np.convolve(vp, np.ones(win) / win, mode="valid")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=SRC)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "assets", "demo_person.mp4")))
    a = ap.parse_args()
    frames, fps = read_all(a.src)
    H, W = frames.shape[1:3]
    boxes = track(blobs(frames))
    t = np.arange(len(boxes))
    # her height shrinks smoothly as she walks away: a quadratic fit is robust to blob noise
    h = np.polyval(np.polyfit(t, boxes[:, 3], 2), t)
    cx = smooth(boxes[:, 0] + boxes[:, 2] / 2)
    cy = smooth(boxes[:, 1] + boxes[:, 3] / 2)
    writer = cv2.VideoWriter(a.out, cv2.VideoWriter_fourcc(*"mp4v"), fps, (OUT_W, OUT_H))
    for k, i in enumerate(range(FIRST, LAST + 1)):
        ch = h[k] * OUT_H / TARGET_PX
        cw = ch * OUT_W / OUT_H
        x0 = float(np.clip(cx[k] - cw / 2, 0, W - cw))
        y0 = float(np.clip(cy[k] - ch / 2, 0, H - ch))
        s = OUT_H / ch
        # sub-pixel crop + upscale in one affine warp (smooth virtual camera)
        M = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]])
        img = cv2.warpAffine(frames[i], M, (OUT_W, OUT_H), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)
        writer.write(img)
    writer.release()
    print(f"wrote {a.out}: {LAST - FIRST + 1} frames, {OUT_W}x{OUT_H}, {fps:g} fps")


if __name__ == "__main__":
    main()
