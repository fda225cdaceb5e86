"""A bundle-adjustment-style loop over observations, with branches.

Each of the m observations k projects the 3-D point ``X[point_index[k]]`` with the camera
``cams[cam_index[k]]`` as ADBench's BA objective does (11 parameters per camera: an
angle-axis rotation, the centre, the focal length, the principal point and two radial
distortion coefficients; Rodrigues' formula with ADBench's branch for a zero rotation),
and adds a robust loss of the reprojection error: Huber's, quadratic up to ``delta`` and
linear beyond it, a branch on the size of the residual. Written with scalar ``math`` on the
entries, one observation per iteration. The gradient is with respect to the cameras and
the points. ADBench's BA returns the residuals and their sparse Jacobian; this is the sum
of their robust losses instead, so that a gradient is what is asked for, and has no
per-observation weights.

The data: ``cameras`` cameras about 10 units from ``points`` points near the origin,
looking at them; ``observations`` random (camera, point) pairs whose features are the true
projections plus noise, a fifth of them outliers; the parameters are the truth perturbed.
Camera 0 has exactly zero rotation, so both of Rodrigues' branches run, and ``delta``
puts some residuals on each side of Huber's branch:

    >>> cams, X, feats, cam_index, point_index, delta = problem(4, 10, 40)
    >>> sq = residuals(cams, X, feats, cam_index, point_index)
    >>> bool(0 < np.sum(sq <= delta ** 2) < len(sq)) and bool(np.any(cam_index == 0))
    True
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable

import numpy as np

CAMERAS, POINTS, OBSERVATIONS = 10, 200, 1000
DELTA = 0.01


def ba_objective(cams, X, feats, cam_index, point_index, delta):
    total = 0.0
    for k in range(feats.shape[0]):
        cam = cams[cam_index[k]]
        point = X[point_index[k]]
        px = point[0] - cam[3]
        py = point[1] - cam[4]
        pz = point[2] - cam[5]
        r0 = cam[0]
        r1 = cam[1]
        r2 = cam[2]
        sqtheta = r0 * r0 + r1 * r1 + r2 * r2
        if sqtheta != 0.0:
            theta = math.sqrt(sqtheta)
            costheta = math.cos(theta)
            sintheta = math.sin(theta)
            w0 = r0 / theta
            w1 = r1 / theta
            w2 = r2 / theta
            tmp = (w0 * px + w1 * py + w2 * pz) * (1.0 - costheta)
            cx = px * costheta + (w1 * pz - w2 * py) * sintheta + w0 * tmp
            cy = py * costheta + (w2 * px - w0 * pz) * sintheta + w1 * tmp
            cz = pz * costheta + (w0 * py - w1 * px) * sintheta + w2 * tmp
        else:
            cx = px + r1 * pz - r2 * py
            cy = py + r2 * px - r0 * pz
            cz = pz + r0 * py - r1 * px
        u = cx / cz
        v = cy / cz
        rsq = u * u + v * v
        distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
        ex = cam[6] * distortion * u + cam[7] - feats[k, 0]
        ey = cam[6] * distortion * v + cam[8] - feats[k, 1]
        sq = ex * ex + ey * ey
        if sq <= delta * delta:
            total = total + 0.5 * sq
        else:
            total = total + delta * (math.sqrt(sq) - 0.5 * delta)
    return total


def hand_grad_ba_objective(cams, X, feats, cam_index, point_index, delta):
    """By hand: each observation's contribution is independent, so its adjoint follows it
    at once in the same loop (nothing is kept), accumulated into the camera's and the
    point's rows."""
    dcams = np.zeros_like(cams)
    dX = np.zeros_like(X)
    for k in range(feats.shape[0]):
        c = cam_index[k]
        q = point_index[k]
        cam = cams[c]
        point = X[q]
        px = point[0] - cam[3]
        py = point[1] - cam[4]
        pz = point[2] - cam[5]
        r0, r1, r2 = cam[0], cam[1], cam[2]
        sqtheta = r0 * r0 + r1 * r1 + r2 * r2
        rotated = sqtheta != 0.0
        if rotated:
            theta = math.sqrt(sqtheta)
            costheta = math.cos(theta)
            sintheta = math.sin(theta)
            w0, w1, w2 = r0 / theta, r1 / theta, r2 / theta
            dot = w0 * px + w1 * py + w2 * pz
            tmp = dot * (1.0 - costheta)
            kx, ky, kz = w1 * pz - w2 * py, w2 * px - w0 * pz, w0 * py - w1 * px  # w × p
            cx = px * costheta + kx * sintheta + w0 * tmp
            cy = py * costheta + ky * sintheta + w1 * tmp
            cz = pz * costheta + kz * sintheta + w2 * tmp
        else:
            cx = px + r1 * pz - r2 * py
            cy = py + r2 * px - r0 * pz
            cz = pz + r0 * py - r1 * px
        u = cx / cz
        v = cy / cz
        rsq = u * u + v * v
        k1, k2, focal = cam[9], cam[10], cam[6]
        distortion = 1.0 + k1 * rsq + k2 * rsq * rsq
        ex = focal * distortion * u + cam[7] - feats[k, 0]
        ey = focal * distortion * v + cam[8] - feats[k, 1]
        sq = ex * ex + ey * ey
        # backwards through this observation
        dsq = 0.5 if sq <= delta * delta else 0.5 * delta / math.sqrt(sq)
        dex, dey = 2.0 * ex * dsq, 2.0 * ey * dsq
        dfocal = (dex * u + dey * v) * distortion
        ddistortion = focal * (dex * u + dey * v)
        drsq = ddistortion * (k1 + 2.0 * k2 * rsq)
        du = dex * focal * distortion + 2.0 * u * drsq
        dv = dey * focal * distortion + 2.0 * v * drsq
        gx, gy, gz = du / cz, dv / cz, -(du * u + dv * v) / cz   # ∂/∂(cx, cy, cz)
        if rotated:
            # (cx, cy, cz) = p cos + (w × p) sin + w tmp, tmp = (w · p)(1 - cos)
            dtmp = w0 * gx + w1 * gy + w2 * gz
            dcos = px * gx + py * gy + pz * gz - dtmp * dot
            dsin = kx * gx + ky * gy + kz * gz
            a = dtmp * (1.0 - costheta)
            dpx = costheta * gx + sintheta * (gy * w2 - gz * w1) + a * w0   # g × w
            dpy = costheta * gy + sintheta * (gz * w0 - gx * w2) + a * w1
            dpz = costheta * gz + sintheta * (gx * w1 - gy * w0) + a * w2
            dw0 = sintheta * (py * gz - pz * gy) + tmp * gx + a * px        # p × g
            dw1 = sintheta * (pz * gx - px * gz) + tmp * gy + a * py
            dw2 = sintheta * (px * gy - py * gx) + tmp * gz + a * pz
            dtheta = -sintheta * dcos + costheta * dsin - (w0 * dw0 + w1 * dw1 + w2 * dw2) / theta
            dr0, dr1, dr2 = dw0 / theta + dtheta * w0, dw1 / theta + dtheta * w1, \
                dw2 / theta + dtheta * w2
        else:
            # (cx, cy, cz) = p + r × p
            dpx = gx + gy * r2 - gz * r1
            dpy = gy + gz * r0 - gx * r2
            dpz = gz + gx * r1 - gy * r0
            dr0, dr1, dr2 = py * gz - pz * gy, pz * gx - px * gz, px * gy - py * gx
        dcams[c, 0] += dr0
        dcams[c, 1] += dr1
        dcams[c, 2] += dr2
        dcams[c, 3] -= dpx
        dcams[c, 4] -= dpy
        dcams[c, 5] -= dpz
        dcams[c, 6] += dfocal
        dcams[c, 7] += dex
        dcams[c, 8] += dey
        dcams[c, 9] += ddistortion * rsq
        dcams[c, 10] += ddistortion * rsq * rsq
        dX[q, 0] += dpx
        dX[q, 1] += dpy
        dX[q, 2] += dpz
    return dcams, dX


# ----------------------------------------------------------------- vectorised


def projections_with(xp) -> Callable:
    """Every observation's projection at once: rows gathered by index, both of Rodrigues'
    branches computed everywhere and chosen by ``xp.where`` (the one not taken kept finite,
    so that JAX's gradients through ``where`` stay finite too)."""
    def projections(cams, X, cam_index, point_index):
        cam = cams[cam_index]
        p = X[point_index] - cam[:, 3:6]
        r = cam[:, 0:3]
        sqtheta = xp.sum(r * r, axis=1, keepdims=True)
        rotated = sqtheta != 0.0
        theta = xp.sqrt(xp.where(rotated, sqtheta, 1.0))
        w = r / theta
        costheta = xp.cos(theta)
        tmp = xp.sum(w * p, axis=1, keepdims=True) * (1.0 - costheta)
        turned = p * costheta + xp.cross(w, p) * xp.sin(theta) + w * tmp
        Xcam = xp.where(rotated, turned, p + xp.cross(r, p))
        uv = Xcam[:, 0:2] / Xcam[:, 2:3]
        rsq = xp.sum(uv * uv, axis=1, keepdims=True)
        distortion = 1.0 + cam[:, 9:10] * rsq + cam[:, 10:11] * rsq * rsq
        return cam[:, 6:7] * distortion * uv + cam[:, 7:9]
    return projections


def ba_vectorised_with(xp) -> Callable:
    """The same objective over all observations at once, Huber's branch by ``xp.where``:
    how JAX's ``jit`` wants it, since a Python ``if`` on a traced value does not trace and
    unrolling the loop over every observation would compile for minutes."""
    projections = projections_with(xp)

    def ba_objective_vectorised(cams, X, feats, cam_index, point_index, delta):
        e = projections(cams, X, cam_index, point_index) - feats
        sq = xp.sum(e * e, axis=1)
        inside = sq <= delta * delta
        far = xp.where(inside, 1.0, sq)
        return xp.sum(xp.where(inside, 0.5 * sq, delta * (xp.sqrt(far) - 0.5 * delta)))
    return ba_objective_vectorised


def residuals(cams, X, feats, cam_index, point_index):
    """The squared reprojection error of each observation (its ``sq``)."""
    e = projections_with(np)(cams, X, cam_index, point_index) - feats
    return np.sum(e * e, axis=1)


def problem(cameras: int = CAMERAS, points: int = POINTS, observations: int = OBSERVATIONS,
            seed: int = 0) -> tuple:
    """(cams, X, feats, cam_index, point_index, delta); see the module's docstring."""
    rng = np.random.default_rng(seed)
    cams = np.zeros((cameras, 11))
    cams[:, 0:3] = 0.1 * rng.standard_normal((cameras, 3))
    cams[0, 0:3] = 0.0
    cams[:, 3:5] = rng.standard_normal((cameras, 2))
    cams[:, 5] = -10.0 + rng.standard_normal(cameras)
    cams[:, 6] = 1.0 + 0.1 * rng.random(cameras)
    cams[:, 7:9] = 0.01 * rng.standard_normal((cameras, 2))
    cams[:, 9:11] = 0.01 * rng.standard_normal((cameras, 2))
    X = rng.standard_normal((points, 3))
    cam_index = rng.integers(0, cameras, observations)
    cam_index[0] = 0
    point_index = rng.integers(0, points, observations)
    noise = 0.003 * rng.standard_normal((observations, 2))
    noise[rng.random(observations) < 0.2] *= 10.0   # outliers
    feats = projections_with(np)(cams, X, cam_index, point_index) + noise
    start = cams.copy()
    start[1:, 0:3] += 0.001 * rng.standard_normal((cameras - 1, 3))
    start[:, 3:6] += 0.01 * rng.standard_normal((cameras, 3))
    return start, X + 0.01 * rng.standard_normal(X.shape), feats, cam_index, point_index, \
        DELTA


# ----------------------------------------------------------------- peers


def ba_objective_with(xp) -> Callable:
    """``ba_objective`` on another NumPy (``autograd.numpy``, ``jax.numpy`` without jit):
    the same loop and branches, with ``xp``'s sqrt, cos and sin on its traced values."""
    def ba_objective_peer(cams, X, feats, cam_index, point_index, delta):
        total = 0.0
        for k in range(feats.shape[0]):
            cam = cams[cam_index[k]]
            point = X[point_index[k]]
            px = point[0] - cam[3]
            py = point[1] - cam[4]
            pz = point[2] - cam[5]
            r0 = cam[0]
            r1 = cam[1]
            r2 = cam[2]
            sqtheta = r0 * r0 + r1 * r1 + r2 * r2
            if sqtheta != 0.0:
                theta = xp.sqrt(sqtheta)
                costheta = xp.cos(theta)
                sintheta = xp.sin(theta)
                w0 = r0 / theta
                w1 = r1 / theta
                w2 = r2 / theta
                tmp = (w0 * px + w1 * py + w2 * pz) * (1.0 - costheta)
                cx = px * costheta + (w1 * pz - w2 * py) * sintheta + w0 * tmp
                cy = py * costheta + (w2 * px - w0 * pz) * sintheta + w1 * tmp
                cz = pz * costheta + (w0 * py - w1 * px) * sintheta + w2 * tmp
            else:
                cx = px + r1 * pz - r2 * py
                cy = py + r2 * px - r0 * pz
                cz = pz + r0 * py - r1 * px
            u = cx / cz
            v = cy / cz
            rsq = u * u + v * v
            distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
            ex = cam[6] * distortion * u + cam[7] - feats[k, 0]
            ey = cam[6] * distortion * v + cam[8] - feats[k, 1]
            sq = ex * ex + ey * ey
            if sq <= delta * delta:
                total = total + 0.5 * sq
            else:
                total = total + delta * (xp.sqrt(sq) - 0.5 * delta)
        return total
    return ba_objective_peer


def ba_objective_torch(torch) -> Callable:
    """``ba_objective`` spelled in PyTorch: the same loop, torch's sqrt, cos and sin."""
    return ba_objective_with(types.SimpleNamespace(sqrt=torch.sqrt, cos=torch.cos,
                                                   sin=torch.sin))
