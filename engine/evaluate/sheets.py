"""Report images: the quadruple grid and the vary-one-factor sheets (Pillow only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OK = (20, 120, 40)
BAD = (200, 30, 30)
INK = (20, 20, 20)
GREY = (110, 110, 110)
PAPER = (255, 255, 255)
PAD = 6
LINE = 13  # caption line height (px)


def font(size: int = 11) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


Token = tuple[str, tuple[int, int, int]]


@dataclass
class Tile:
    """One picture and its caption lines (each a list of coloured text tokens)."""

    image: np.ndarray | None
    lines: list[list[Token]]


def _draw_tokens(draw: ImageDraw.ImageDraw, x: int, y: int, tokens: list[Token], fnt) -> None:
    for text, colour in tokens:
        draw.text((x, y), text, fill=colour, font=fnt)
        x += int(draw.textlength(text + " ", font=fnt))


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int, fnt) -> str:
    """Shorten text with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=fnt) <= width:
        return text
    while text and draw.textlength(text + "…", font=fnt) > width:
        text = text[:-1]
    return text + "…"


def table_image(
    title: str,
    header: list[str],
    rows: list[list[Tile]],
    tile: int,
    row_labels: list[str] | None = None,
) -> Image.Image:
    """A titled table of tiles: a header row of column labels, then rows of captioned tiles."""
    fnt, bold = font(11), font(13)
    n_lines = max((len(t.lines) for row in rows for t in row), default=0)
    label_w = 0
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    if row_labels:
        label_w = max(int(probe.textlength(s, font=fnt)) for s in row_labels) + PAD
    cols = max(len(header), max((len(r) for r in rows), default=0))
    cell_w, cell_h = tile + PAD, tile + n_lines * LINE + PAD
    title_lines = title.split("\n")
    top = PAD + len(title_lines) * 17 + LINE + 4
    width = PAD + label_w + cols * cell_w
    height = top + len(rows) * cell_h + PAD
    img = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(title_lines):
        draw.text((PAD, PAD + k * 17), _fit(draw, line, width - 2 * PAD, bold), fill=INK, font=bold)
    y_head = top - LINE - 2
    for c, label in enumerate(header):
        x = PAD + label_w + c * cell_w
        draw.text((x, y_head), _fit(draw, label, tile, fnt), fill=INK, font=fnt)
    for r, row in enumerate(rows):
        y = top + r * cell_h
        if row_labels:
            draw.text((PAD, y + tile // 2 - 6), row_labels[r], fill=INK, font=fnt)
        for c, cell in enumerate(row):
            x = PAD + label_w + c * cell_w
            if cell.image is not None:
                pic = Image.fromarray(cell.image)
                if pic.size != (tile, tile):
                    pic = pic.resize((tile, tile), Image.LANCZOS)
                img.paste(pic, (x, y))
            else:
                draw.rectangle((x, y, x + tile - 1, y + tile - 1), outline=GREY)
            for k, tokens in enumerate(cell.lines):
                fitted, used = [], 0
                for text, colour in tokens:
                    room = tile - used
                    if room <= 8:
                        break
                    text = _fit(draw, text, room, fnt)
                    fitted.append((text, colour))
                    used += int(draw.textlength(text + " ", font=fnt))
                _draw_tokens(draw, x, y + tile + 1 + k * LINE, fitted, fnt)
    return img
