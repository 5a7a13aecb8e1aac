"""Rebuilds world.svg from @svg-maps/world (CC BY 4.0): `npm pack @svg-maps/world`, unpack,
then `python static/maps/build_world.py package/index.js static/maps/world.svg`.

The original is 1.2 MB of paths with millidegree detail; a status page needs a map a few
hundred pixels wide, so points are snapped to a whole-unit grid of the same 1010 x 666 view
box, thinned with Douglas-Peucker and written as integer relative moves (about a tenth of
the size). Each country is a <path id="xx"> (ISO 3166-1 alpha-2, lower case) with no fill
of its own, so a page draws the whole map with <use href="world.svg#world"> and colours
one country over it with <use href="world.svg#xx" class="...">.
"""

from __future__ import annotations

import json
import re
import sys
from html import escape
from pathlib import Path

TOLERANCE = 0.6  # view-box units (1010 wide): below a pixel on a phone-sized map
MIN_EXTENT = 1.5  # islands smaller than this in both directions are dropped...
TOKEN = re.compile(r"[mz]|-?\d*\.?\d+(?:e-?\d+)?", re.IGNORECASE)


def rings(path: str) -> list[list[tuple[float, float]]]:
    """Absolute polygons of a path made of relative `m` (implicit lineto) and `z`."""
    out: list[list[tuple[float, float]]] = []
    x = y = 0.0
    start = (0.0, 0.0)
    numbers: list[float] = []
    ring: list[tuple[float, float]] = []

    def flush() -> None:
        nonlocal x, y, start, ring
        for i in range(0, len(numbers) - 1, 2):
            x, y = x + numbers[i], y + numbers[i + 1]
            if not ring:
                start = (x, y)
            ring.append((x, y))
        numbers.clear()

    for token in TOKEN.findall(path):
        if token in "mM":
            flush()
            if ring:
                out.append(ring)
                ring = []
        elif token in "zZ":
            flush()
            if ring:
                out.append(ring)
                ring = []
            x, y = start
        else:
            numbers.append(float(token))
    flush()
    if ring:
        out.append(ring)
    return out


def thin(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    if len(points) < 3:
        return points
    (x0, y0), (x1, y1) = points[0], points[-1]
    dx, dy = x1 - x0, y1 - y0
    norm = (dx * dx + dy * dy) ** 0.5 or 1e-9
    far, index = 0.0, 0
    for i, (px, py) in enumerate(points[1:-1], start=1):
        d = abs(dy * (px - x0) - dx * (py - y0)) / norm
        if d > far:
            far, index = d, i
    if far <= tolerance:
        return [points[0], points[-1]]
    return thin(points[: index + 1], tolerance)[:-1] + thin(points[index:], tolerance)


def extent(ring: list[tuple[float, float]]) -> float:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return max(max(xs) - min(xs), max(ys) - min(ys))


def country_path(path: str) -> str:
    polygons = rings(path)
    largest = max(polygons, key=extent)
    parts = []
    cx = cy = 0
    for ring in polygons:
        if ring is not largest and extent(ring) < MIN_EXTENT:
            continue  # ...but a country always keeps its largest piece
        snapped: list[tuple[int, int]] = []
        for px, py in thin(ring, TOLERANCE):
            point = (round(px), round(py))
            if not snapped or snapped[-1] != point:
                snapped.append(point)
        if len(snapped) < 3:
            snapped = [(round(ring[0][0]), round(ring[0][1]))]
            snapped += [(snapped[0][0] + 1, snapped[0][1]), (snapped[0][0], snapped[0][1] + 1)]
        moves = []
        for px, py in snapped:
            moves.append(f"{px - cx},{py - cy}")
            cx, cy = px, py
        parts.append("m" + " ".join(moves) + "z")
        cx, cy = snapped[0]
    return "".join(parts)


def main(source: Path, target: Path) -> None:
    data = json.loads(source.read_text().removeprefix("export default ").rstrip().rstrip(";"))
    paths = [
        f'<path id="{loc["id"]}" d="{country_path(loc["path"])}">'
        f"<title>{escape(loc['name'])}</title></path>"
        for loc in data["locations"]
    ]
    target.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="{}">\n'
        "<!-- Map of the World from @svg-maps/world 2.0.0 by Victor Cazanave, CC BY 4.0, "
        'simplified (static/maps/LICENSE.md) -->\n<g id="world">\n{}\n</g>\n</svg>\n'.format(
            data["viewBox"], "\n".join(paths)
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
