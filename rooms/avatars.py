"""Avatars drawn by the app itself: a symmetric 5x5 identicon in SVG from a stored seed."""
import hashlib
import secrets

GRID = 5
CELL = 8
PADDING = 4


def new_seed():
    return secrets.token_hex(8)


def _colour(digest):
    hue = int.from_bytes(digest[0:2], "big") % 360
    return f"hsl({hue} 55% 45%)", f"hsl({hue} 60% 92%)"


def identicon_svg(seed):
    """The SVG text of the avatar for `seed`; the same seed always gives the same picture."""
    digest = hashlib.sha256(seed.encode()).digest()
    foreground, background = _colour(digest)
    size = GRID * CELL + 2 * PADDING
    cells = []
    half = (GRID + 1) // 2
    for row in range(GRID):
        for col in range(half):
            bit = digest[2 + row * half + col] & 1
            if not bit:
                continue
            for x in {col, GRID - 1 - col}:
                cells.append(
                    f'<rect x="{PADDING + x * CELL}" y="{PADDING + row * CELL}" width="{CELL}" height="{CELL}"/>'
                )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}" height="{size}">'
        f'<rect width="{size}" height="{size}" rx="8" fill="{background}"/>'
        f'<g fill="{foreground}">{"".join(cells)}</g></svg>'
    )
