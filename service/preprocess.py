"""Turn an uploaded image into the model's 28×28 input the way MNIST was built, and report what was done.

mode="auto" (the default), step by step:
 0. Decoding: a plain 8-bit grey PNG (no transparency, orientation or animation: what a client that prepares its
    digit sends) is read by OpenCV (service/grey_png.py), which gives Pillow's pixels several times sooner and
    goes straight to step 4; every other upload by Pillow (service/decode.py), through steps 1–3.
 1. EXIF orientation applied; first frame only (decode.open_image already picked it).
 2. Grayscale (ITU-R 601 luma). Transparent pixels become background: they are laid on white when the
    visible pixels are mostly dark (black strokes on a transparent canvas), on black otherwise.
 3. Images wider or taller than WORK_SIDE are box-reduced by an integer factor first (speed, memory); a JPEG whose
    factor is even is decoded at 1/2, 1/4 or 1/8 of its size in grey by libjpeg and reduced by what remains
    (service/decode.py), which ends at the same size.
 4. Background and noise. First, a photo of a sheet lying wholly in the frame (a card or a note on a desk that
    shows past all four of its edges, so the frame's border is desk: service/sheet.py) is warped to the sheet
    alone, its four corners onto a rectangle, and every step from here on sees a page that fills its frame.
    An evenly lit image (a canvas, a scan, a file): background = median of the 1-pixel border, noise σ = 1.4826 ·
    its median absolute deviation (from the differences of neighbouring border pixels where that leaves no
    contrast: a scan whose digit crosses the border). A photograph of a page
    (service/paper.py: the paper, seen through a grey closing that erases the ink, varies along the border by more
    than 6 %): the page's light is estimated over the whole frame and divided out (ink = 1 − image / light), σ from
    the MAD over the frame. A blot of ink wider than that closing (a loop the pen filled in), clear of the frame's
    sides, is seen through a wider one, so it is not taken for paper in shadow.
 5. Polarity: the ink is whichever extreme lies further from the background (in a photograph, light ink only
    where its extreme lies LIGHT_INK times as far: a page is paper far more often than a board); dark ink on light
    paper is inverted so that ink is light on black, as in MNIST.
 6. Levelling: ink = clip((d − 3σ) / (peak − 3σ), 0, 1) with d = pixel − background taken towards the ink,
    so paper → 0 and the ink's peak → 1.
    Less than MIN_CONTRAST between peak and noise floor is 422 ``no_ink`` (blank, uniform and 1×1 images).
    In a photograph, what lies past the sheet's edge (a desk, a sleeve: paper.beyond_page; a shadow's edge along the
    border is taken for it too) is no ink: ink above BEYOND_LEVEL of the faint level, wider than a printed line,
    reaching the frame and never more than 35 % into it, where such ink lies along a fifth of the short side of
    one side or more. The peak is taken again, and the band along the sheet's edge (paper.BEYOND_BAND, 4 % of the
    short side) counts as the frame's side in steps 7 and 8.
 7. Paper lines (service/paper_lines.py): three or more thin, light, near-horizontal or near-vertical lines across
    the frame (ruled or squared paper) have their own ink subtracted, so a stroke crossing or following a line
    keeps what is darker than the print; when what is left is not writing (paper_lines.written: nothing twice as
    dark as the lines, and no long connected trace of ink, as a pencil leaves), 422 ``no_ink`` (blank lined paper).
 8. The digit: connected components of the ink above FAINT_THRESHOLD that reach INK_THRESHOLD somewhere; specks
    (under 1.5 % of the strongest component) and components far from it are left out, and in photographs so is
    whatever reaches the frame or the band along the sheet's edge (shadows, the ends of lines), and a piece lying
    near one side of the frame or mostly in that band, or too small to be a digit, is never one (paper.RIM,
    paper.CRUMB: a blank page's crumbs and the page's edge); a photo's digit needs a piece more than a crumb at
    MIN_CONTRAST above the floor (paper.stands_out), else 422. Everything else in the image is blanked. The crop
    is the digit's bounding box above INK_THRESHOLD with a margin of 2 output pixels, so faint anti-aliased edges
    survive.
 9. Longest side scaled to 20 px, aspect ratio kept, anti-aliased (bilinear), peak re-stretched to 1.
10. Pasted into 28×28 with its centre of mass on pixel (14, 14) (integer shift, clipped at the edges).

Already in MNIST's format — 28×28, light ink on an exactly black border with no noise — images skip steps 7–10:
they are only levelled (peak → 1), so MNIST's own digits come out unchanged (≤ 1/255 off, where their peak is
254). Steps 7–10 alone would already be no-ops on 99.5 % of MNIST (20-pixel box, centre of mass within ±0.5 px
of (14, 14)); the rule keeps the rest (digits cut by the frame, off-centre ones) as they were.
In a batch (preprocess_all: what the service calls, one upload being a batch of one), the plain grey PNGs in that
format are recognised and levelled together, one set of array operations for all, bit for bit as one by one (which
_auto's MNIST branch does): a client that sends 64 prepared digits in one request pays for 64 decodes and one
check and levelling.

mode="raw": grayscale (transparency as above), resized to 28×28 without keeping the aspect ratio if it is
another size, scaled to [0, 1]; no inversion, levelling or cropping, and blank images are allowed.
``mode`` is one of MODES; requests are checked where they are read (service.inputs.parse_mode).

The report (JSON): mode; inverted; original_size [w, h] as uploaded; bbox [x0, y0, x1, y1] of the ink in the
upright image's pixels (null in raw mode); scale (output pixels per upright input pixel); com_shift [dx, dy]
(output pixels moved from box-centred to mass-centred placement); frames (in the file); exif_rotated; and in auto
mode sheet ([[x, y] × 4]: the corners of the sheet found lying in the frame in step 4, clockwise from the top left,
in the upright image's pixels, or null; where there is one, bbox is the box of the corners of the digit's box on
the sheet, mapped back into the upright image), background_removed (bool: step 4 divided a photograph's uneven
light out), border_removed (bool: step 6 left out ink lying along the frame's side: a desk past the sheet's edge,
or a shadow's edge), lines_removed (int: paper lines found and erased in step 7) and components_kept (int:
connected components that make the digit in step 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil, isqrt
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageOps

from model.config import DIGIT_BOX, DIGIT_CENTRE, INPUT_SIDE
from service import grey_png, paper, paper_lines, sheet
from service.decode import MAX_PIXELS, open_upload
from service.errors import ApiError
from service.png import png_data_url

MODES = ("auto", "raw")
BOX, CENTRE = DIGIT_BOX, DIGIT_CENTRE  # MNIST's framing: the longest side in 20 px, mass centred on (14, 14)
WORK_SIDE = 1024  # larger images are reduced to at most this side before any float work
INK_THRESHOLD = 0.3  # levelled value that counts as ink for the bounding box
FAINT_THRESHOLD = 0.15  # … and, joined to such ink, as part of the digit
BEYOND_LEVEL = 0.3  # … and this share of that faint level, in a photo, what may lie past the sheet's edge
MIN_CONTRAST = 0.08  # ink peak above the noise floor, in full-scale units, below which there is no ink
STATS_PIXELS = 30_000  # a photo's polarity and noise are judged on a regular grid of at least this many pixels
NOISE_K = 3.0  # noise floor = NOISE_K · σ of the border
LIGHT_INK = 2.0  # a photo is of light ink on a dark page only if its lightest pixels lie this many times as far
# from the median as its darkest (_dark_on_light)
BORDER = np.flatnonzero(np.pad(np.zeros((INPUT_SIDE - 2,) * 2, bool), 1, constant_values=True))  # the 108
# pixels of a flattened 28×28 image's 1-pixel border
RESAMPLE = Image.Resampling.BILINEAR  # Pillow widens the kernel when shrinking: anti-aliased


@dataclass
class Preprocessed:
    """The model's input pixels and a JSON-serialisable account of how they were made."""

    pixels: np.ndarray  # (28, 28) float32 in [0, 1], 0 = background, 1 = ink
    report: dict = field(default_factory=dict)

    def png_data_url(self) -> str:
        """The 28×28 input as a ``data:image/png;base64,…`` URL."""
        return png_data_url(self.pixels)  # service.png: the project's one PNG encoder


def preprocess(data: bytes, mode: str = "auto", max_pixels: int = MAX_PIXELS) -> Preprocessed:
    """Decode uploaded bytes and normalise them into the model's 28×28 input (raises ApiError)."""
    return preprocess_all([data], mode, max_pixels)[0]


def preprocess_all(uploads: list[bytes], mode: str = "auto", max_pixels: int = MAX_PIXELS) -> list[Preprocessed]:
    """preprocess() of every upload, in order: the first that fails raises. Plain grey PNGs already in MNIST's
    format (what a client sending a batch of prepared digits sends) are levelled together, in one set of array
    operations for all of them, with the same result as one by one."""
    greys = [grey_png.read(data, WORK_SIDE, max_pixels) for data in uploads]  # plain grey PNGs: Pillow's "L"
    # pixels, sooner; None for other files. One upload alone takes _auto, whose MNIST branch levels it the same way
    which, stack = _ready(greys) if mode == "auto" and len(uploads) > 1 else ([], None)
    only_level = set(which)
    done: list[Preprocessed | None] = []
    for i, (data, grey) in enumerate(zip(uploads, greys)):
        if i in only_level:
            done.append(None)  # levelled with the others below; such an image cannot fail
        elif grey is not None:
            done.append(_normalized(grey * np.float32(1 / 255), mode, 1, _grey_report(grey, mode)))
        else:
            upload = open_upload(data, max_pixels, WORK_SIDE)
            done.append(normalize(upload.image, mode, upload.size, upload.scale))
    if which:
        pixels, boxes = _level_mnist(stack * np.float32(1 / 255))  # (k, 28, 28), as _to_array scales "L"
        for i, image, box in zip(which, pixels, boxes.tolist()):
            done[i] = Preprocessed(image, _mnist_report(_grey_report(greys[i], mode), box, 1))
    return done


def _grey_report(grey: np.ndarray, mode: str) -> dict:
    """The report's first fields for a plain grey PNG: one upright frame of its size."""
    return {"mode": mode, "original_size": [grey.shape[1], grey.shape[0]], "frames": 1, "exif_rotated": False}


def normalize(
    img: Image.Image, mode: str = "auto", size: tuple[int, int] | None = None, scale: int = 1
) -> Preprocessed:
    """Normalise a decoded image into the model's 28×28 input (raises ApiError). SIZE and SCALE: the upload's size
    and how many times smaller img was decoded (decode.Upload), where it was; the report speaks of the upload."""
    report = {"mode": mode, "original_size": list(size or img.size), "frames": int(getattr(img, "n_frames", 1))}
    try:
        img, report["exif_rotated"] = _orient(img)
        img, factor = _shrink(_flat(img))
        gray = _to_array(img)  # (H, W) in [0, 1]
    except ApiError:
        raise
    except Exception as exc:  # an odd mode or a broken frame: still the client's image at fault
        raise ApiError(400, "invalid_image", f"cannot convert the image to grayscale: {exc}") from exc
    return _normalized(gray, mode, factor * scale, report)


def _normalized(gray: np.ndarray, mode: str, factor: int, report: dict) -> Preprocessed:
    """Steps 4–10 (or raw mode's resize) on grayscale (H, W) in [0, 1], decoded FACTOR times smaller than uploaded."""
    pixels = _raw(gray, report) if mode == "raw" else _auto(gray, factor, report)
    return Preprocessed(pixels.astype(np.float32, copy=False), report)


def _orient(img: Image.Image) -> tuple[Image.Image, bool]:
    """Apply the EXIF orientation tag, if any; whether the image was turned (HEIC: by libheif, as it decoded)."""
    if img.getexif().get(0x0112, 1) in (None, 1):  # 0x0112 = Orientation
        return img, img.info.get("original_orientation", 1) not in (None, 1)  # decode.py: HEIC's tag, applied
    return ImageOps.exif_transpose(img), True


def _flat(img: Image.Image) -> Image.Image:
    """Convert to one of the modes the rest handles: L, I (16-bit) or F; transparency composited."""
    if img.mode.startswith("I;16"):
        return img.convert("I")
    if img.mode in ("I", "F"):
        return img
    if img.has_transparency_data:
        return _composite(img if img.mode == "LA" else img.convert("LA"))
    return img if img.mode == "L" else img.convert("L")


def _composite(la: Image.Image) -> Image.Image:
    """Lay the visible pixels on white if they are mostly dark, else on black (L mode)."""
    gray, alpha = la.split()
    visible = np.asarray(gray)[np.asarray(alpha) > 0]
    paper = 255 if visible.size == 0 or visible.mean() < 128 else 0
    out = Image.new("L", la.size, paper)
    out.paste(gray, mask=alpha)
    return out


def _shrink(img: Image.Image) -> tuple[Image.Image, int]:
    """Box-reduce by an integer factor so that neither side exceeds WORK_SIDE."""
    factor = -(-max(img.size) // WORK_SIDE)
    return (img.reduce(factor), factor) if factor > 1 else (img, 1)


def _to_array(img: Image.Image) -> np.ndarray:
    """Grayscale (H, W) float32 in [0, 1]."""
    a = np.asarray(img)  # (H, W)
    if img.mode == "F" and not np.isfinite(a).all():  # float TIFFs can hold NaN or Infinity
        raise ApiError(400, "invalid_image", "the image has NaN or infinite pixels")
    if img.mode == "L":
        return a * np.float32(1 / 255)
    top = float(a.max()) if a.size else 0.0
    scale = 1.0 if img.mode == "F" and top <= 1 else 255.0 if top <= 255 else 65535.0
    return np.clip(a.astype(np.float32) / np.float32(scale), 0, 1)


def _raw(gray: np.ndarray, report: dict) -> np.ndarray:
    """Grayscale resized to 28×28 if needed; nothing else."""
    h, w = gray.shape
    if (h, w) != (INPUT_SIDE, INPUT_SIDE):
        gray = np.asarray(Image.fromarray(gray).resize((INPUT_SIDE, INPUT_SIDE), RESAMPLE))
    report.update(inverted=False, bbox=None, scale=INPUT_SIDE / max(h, w), com_shift=[0, 0])
    return np.clip(gray, 0, 1)


class Ink(NamedTuple):
    """Ink as light on black in the image's own units, with the levels that map it to [0, 1]."""

    pixels: np.ndarray  # (H, W), > 0 where there is ink
    paper: float  # background level in the original polarity (0 where the page's light was divided out)
    floor: float  # noise floor
    peak: float
    inverted: bool
    uneven: bool  # the page's light was uneven and has been divided out (paper.flatten)


def _auto(gray: np.ndarray, factor: int, report: dict) -> np.ndarray:
    """Polarity, levelling (the page's light divided out of photos), paper lines, the digit's components, crop,
    20-px fit and centring by mass (steps 4–10)."""
    gray, found = _sheet_alone(gray, factor, report)
    ink = _ink(gray)
    report.update(inverted=ink.inverted, background_removed=ink.uneven, border_removed=False, lines_removed=0)
    report.update(components_kept=1)
    if _is_mnist_format(gray, ink):  # the ink is gray itself, its floor 0: levelled as preprocess_all does
        pixels, box = _level_mnist(gray[None])
        _mnist_report(report, box[0].tolist(), factor)
        return pixels[0]
    ink, band = _on_the_page(ink) if found is None else (ink, None)  # a rectified sheet shows nothing past it
    report["border_removed"] = band is not None
    pixels, peak, report["lines_removed"] = _without_lines(ink, band)
    low, high = (ink.floor + share * (peak - ink.floor) for share in (FAINT_THRESHOLD, INK_THRESHOLD))
    digit, report["components_kept"] = paper.pick_digit(pixels, low, high, ink.uneven, band)
    if not digit.any() or ink.uneven and not paper.stands_out(pixels, digit, ink.floor + MIN_CONTRAST):
        raise _blank()
    y0, y1, x0, x1 = _bbox(digit & (pixels > high))
    scale = BOX / max(y1 - y0, x1 - x0)
    m = 2 * ceil(1 / scale)  # keep 2 output pixels of faint edge around the digit
    window = (slice(max(y0 - m, 0), y1 + m), slice(max(x0 - m, 0), x1 + m))
    crop = np.where(_grow(digit[window], m), pixels[window], 0)  # other components and specks left out
    peak = float(crop.max())
    pixels, report["com_shift"] = _centre(_fit(_level(crop, ink.floor, peak), scale))
    x0, y0, x1, y1 = (x0, y0, x1, y1) if found is None else found.box_in_image((x0, y0, x1, y1))
    report.update(bbox=[x0 * factor, y0 * factor, x1 * factor, y1 * factor], scale=BOX / max(y1 - y0, x1 - x0) / factor)
    return pixels


def _sheet_alone(gray: np.ndarray, factor: int, report: dict) -> tuple[np.ndarray, sheet.Sheet | None]:
    """A photo of a sheet lying wholly in the frame (service/sheet.py) as the sheet alone, rectified, and the
    sheet; the image as it is and None otherwise. The report's sheet: its corners in the upload's pixels, or null."""
    found = sheet.find(gray) if min(gray.shape) >= paper.MIN_PAGE_SIDE else None
    report["sheet"] = None if found is None else np.round(found.corners * factor, 1).tolist()
    return (gray, None) if found is None else (found.warp(gray), found)


def _on_the_page(ink: Ink) -> tuple[Ink, np.ndarray | None]:
    """A photo's ink without what it shows past the sheet's edge (a desk's grain is no ink), its peak taken again,
    and the band along that edge (paper.Beyond); the ink as it is and None where the page fills the frame."""
    if not ink.uneven:
        return ink, None
    beyond = paper.beyond_page(ink.pixels, BEYOND_LEVEL * (ink.floor + FAINT_THRESHOLD * (ink.peak - ink.floor)))
    if beyond is None:
        return ink, None
    pixels = np.where(beyond.cut, 0, ink.pixels)
    peak = float(pixels.max())
    _check_contrast(ink.floor, peak)
    return ink._replace(pixels=pixels, peak=peak), beyond.band


def _without_lines(ink: Ink, band: np.ndarray | None) -> tuple[np.ndarray, float, int]:
    """The ink without paper lines, its peak, and how many lines were taken out; 422 when what is left is not
    writing (a blank page of ruled or squared paper leaves the lines' blurred edges: paper_lines.written), judged
    above the noise of the frame with its lines out where that is less than the frame's own (a grid dark and dense
    enough to be a good share of the frame is counted in the frame's noise)."""
    cleaned = paper_lines.remove_lines(ink.pixels, ink.floor, ink.peak, band)
    if not cleaned.lines:
        return ink.pixels, ink.peak, 0
    if cleaned.peak - ink.floor < MIN_CONTRAST or not _written(cleaned, ink.floor):
        raise _blank()
    return cleaned.ink, cleaned.peak, cleaned.lines


def _written(cleaned: paper_lines.Cleaned, floor: float) -> bool:
    """paper_lines.written above FLOOR, or else above the noise of the frame with its lines out where that is less:
    dense dark lines count in the frame's noise, the paper's is less. A lower floor keeps every piece a higher one
    does, so the second look (0.9 ms on 640×480) is only taken when the first finds nothing."""
    return paper_lines.written(cleaned, floor) or paper_lines.written(cleaned, min(floor, _noise_floor(cleaned.ink)))


def _grow(mask: np.ndarray, m: int) -> np.ndarray:
    """The mask widened by m pixels (a square neighbourhood)."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * m + 1, 2 * m + 1), np.uint8)) > 0


def _ready(greys: list[np.ndarray | None]) -> tuple[list[int], np.ndarray]:
    """Which of a batch's decoded uploads (None: not a plain grey PNG) _auto would only level: 28×28 uint8 on an
    exactly black border (_black_border), with enough ink (else the image by itself answers the 422); their places
    in the batch and the images stacked (k, 28, 28). One set of array operations for the whole batch."""
    square = [i for i, g in enumerate(greys) if g is not None and g.shape == (INPUT_SIDE, INPUT_SIDE)]
    if not square:
        return [], np.empty((0, INPUT_SIDE, INPUT_SIDE), np.uint8)
    stack = np.stack([greys[i] for i in square])  # (s, 28, 28) uint8
    flat = stack.reshape(len(square), -1)  # (s, 784)
    black = 2 * np.count_nonzero(flat[:, BORDER], axis=1) < len(BORDER)  # (s,): _black_border of each
    peak = (flat.max(axis=1) * np.float32(1 / 255)).astype(np.float64)  # (s,), as _to_array scales "L"
    ok = black & (peak >= MIN_CONTRAST)  # (s,)
    return [i for i, keep in zip(square, ok.tolist()) if keep], stack[ok]


def _level_mnist(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images (k, 28, 28) float32 already in MNIST's format (ink on 0), levelled (peak → 1), and each one's box
    (k, 4) as y0, y1, x0, x1 of the ink above INK_THRESHOLD: the numbers _bbox and _level give for one image, bit
    for bit, as the thresholds and scales are rounded to float32 the way numpy rounds a Python float against a
    float32 array."""
    peak = gray.max(axis=(1, 2)).astype(np.float64)  # (k,)
    above = gray > (INK_THRESHOLD * peak).astype(np.float32)[:, None, None]  # (k, 28, 28)
    rows, cols = above.any(axis=2), above.any(axis=1)  # (k, 28) each
    n, box = gray.shape[1], np.empty((len(gray), 4), np.intp)  # filled column by column: np.stack's Python costs
    box[:, 0], box[:, 1] = rows.argmax(1), n - rows[:, ::-1].argmax(1)  # more than the work, for one image
    box[:, 2], box[:, 3] = cols.argmax(1), n - cols[:, ::-1].argmax(1)
    return _level(gray, 0.0, peak[:, None, None]), box  # one peak per image


def _mnist_report(report: dict, box: list[int], factor: int) -> dict:
    """REPORT completed for an image that was only levelled; box is y0, y1, x0, x1 (a row of _level_mnist's, as
    a list)."""
    y0, y1, x0, x1 = box
    report.update(
        sheet=None, inverted=False, background_removed=False, border_removed=False, lines_removed=0, components_kept=1
    )
    report.update(bbox=[x0 * factor, y0 * factor, x1 * factor, y1 * factor], scale=1.0, com_shift=[0, 0])
    return report


def _is_mnist_format(gray: np.ndarray, ink: Ink) -> bool:
    """28×28, light ink on an exactly black, noiseless background: already the model's format."""
    return gray.shape == (INPUT_SIDE, INPUT_SIDE) and not ink.inverted and ink.paper == 0 and ink.floor == 0


def _ink(gray: np.ndarray) -> Ink:
    """Find the background and the noise, the ink's polarity and its peak: on the border of an evenly lit image,
    over the whole frame (paper.flatten) of a photograph."""
    if _black_border(gray):
        return _ink_on_black(gray)
    border = np.sort(paper.border(gray))
    paper_level = float(border[len(border) // 2])  # median
    noise = 1.4826 * float(np.sort(np.abs(border - paper_level))[len(border) // 2])  # σ from the MAD
    lo, hi = float(gray.min()), float(gray.max())
    inverted = paper_level - lo > hi - paper_level
    if min(gray.shape) >= paper.MIN_PAGE_SIDE:
        dark = _dark_on_light(gray)
        page = paper.flatten(gray, dark)
        if page.uneven:
            return _photo_ink(page.ink, dark)
    pixels = paper_level - gray if inverted else gray - paper_level  # (H, W), ink > 0
    floor, peak = NOISE_K * noise, max(paper_level - lo, hi - paper_level)
    if (
        peak - floor < MIN_CONTRAST and min(gray.shape) > 2
    ):  # a digit filling a scan crosses the border: σ from neighbours' differences
        floor = min(floor, NOISE_K * 1.4826 * float(np.median(np.abs(np.diff(_border_ring(gray))))) / np.sqrt(2))
    _check_contrast(floor, peak)
    return Ink(pixels, paper_level, floor, peak, inverted, False)


def _black_border(gray: np.ndarray) -> bool:
    """28×28 with more than half of its 1-pixel border exactly 0, as in MNIST: the border's median and its median
    absolute deviation are 0, so _ink needs no sorting."""
    if gray.shape != (INPUT_SIDE, INPUT_SIDE):
        return False
    on_border = np.count_nonzero(gray) - np.count_nonzero(gray[1:-1, 1:-1])
    return 2 * on_border < len(BORDER)  # fewer than half of the border's pixels are not 0


def _ink_on_black(gray: np.ndarray) -> Ink:
    """_ink where the background and the noise are 0 (gray ≥ 0): the ink is the image, its peak the maximum."""
    peak = float(gray.max())
    _check_contrast(0.0, peak)
    return Ink(gray, 0.0, 0.0, peak, False, False)


def _border_ring(gray: np.ndarray) -> np.ndarray:
    """The 1-pixel border in order around the image (neighbours stay neighbours)."""
    return np.concatenate([gray[0], gray[1:, -1], gray[-1, -2::-1], gray[-2:0:-1, 0]])


def _grid(a: np.ndarray) -> np.ndarray:
    """Every n-th pixel of every n-th row, at least STATS_PIXELS of them: the frame's statistics, sooner."""
    step = max(1, isqrt(a.size // STATS_PIXELS))
    return a[::step, ::step]


def _dark_on_light(gray: np.ndarray) -> bool:
    """Polarity judged on the whole frame of a photo: dark ink on light paper unless the lightest pixels lie
    LIGHT_INK times as far from the median as the darkest (chalk on a board). On a blank page the two lie about as
    far (a bright spot of light against a dark corner), and taken for light ink on a dark page its light would be
    divided by 1 − paper, a few per cent: noise a few times larger, and its crumbs a digit."""
    lo, mid, hi = np.percentile(_grid(gray), [0.1, 50, 99.9])
    return bool(LIGHT_INK * (mid - lo) > hi - mid)


def _photo_ink(pixels: np.ndarray, inverted: bool) -> Ink:
    """Levels of a flattened page: noise from the median absolute deviation over the frame, which is mostly paper."""
    floor, peak = _noise_floor(pixels), float(pixels.max())
    _check_contrast(floor, peak)
    return Ink(pixels, 0.0, floor, peak, inverted, True)


def _noise_floor(pixels: np.ndarray) -> float:
    """The median of a flattened frame, which is mostly paper, and NOISE_K σ above it (σ from the median absolute
    deviation)."""
    sample = _grid(pixels)
    mid = float(np.median(sample))
    return mid + NOISE_K * 1.4826 * float(np.median(np.abs(sample - mid)))


def _blank() -> ApiError:
    """The 422 for an image in which nothing stands out: the one message every blank check gives."""
    return ApiError(422, "no_ink", "nothing stands out from the background: the image looks blank")


def _check_contrast(floor: float, peak: float) -> None:
    """422 when nothing stands out from the noise."""
    if peak - floor < MIN_CONTRAST:
        raise _blank()


def _level(ink: np.ndarray, floor: float, peak: float | np.ndarray) -> np.ndarray:
    """Noise floor → 0, peak → 1 (PEAK may be an array that broadcasts against INK: one per image)."""
    levelled = (ink - floor if floor else ink) * np.float32(1 / (peak - floor))  # x − 0.0 is x: MNIST's floor
    return np.minimum(np.maximum(levelled, 0, out=levelled), 1, out=levelled)  # clip(0, 1), without its wrappers


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1) of the True pixels."""
    rows, cols = mask.any(axis=1).nonzero()[0], mask.any(axis=0).nonzero()[0]
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _fit(patch: np.ndarray, scale: float) -> np.ndarray:
    """Resize by scale (aspect ratio kept, anti-aliased) and stretch the peak back to 1."""
    if scale != 1:
        h, w = patch.shape
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        patch = np.clip(np.asarray(Image.fromarray(patch).resize(size, RESAMPLE)), 0, 1)
    top = float(patch.max())
    return patch / top if top > 0 else patch


def _centre(patch: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Paste into 28×28 with the centre of mass on (CENTRE, CENTRE); return it and the shift from box-centring."""
    h, w = patch.shape
    mass = float(patch.sum())
    cy = float(patch.sum(axis=1) @ np.arange(h)) / mass
    cx = float(patch.sum(axis=0) @ np.arange(w)) / mass
    oy, ox = round(CENTRE - cy), round(CENTRE - cx)  # top-left of the patch in the 28×28 frame
    out = np.zeros((INPUT_SIDE, INPUT_SIDE), np.float32)
    _paste(out, patch, oy, ox)
    return out, [ox - (INPUT_SIDE - w) // 2, oy - (INPUT_SIDE - h) // 2]


def _paste(dst: np.ndarray, src: np.ndarray, oy: int, ox: int) -> None:
    """Copy src into dst with its top-left at (oy, ox), dropping whatever falls outside."""
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + src.shape[0], dst.shape[0]), min(ox + src.shape[1], dst.shape[1])
    if y1 > y0 and x1 > x0:
        dst[y0:y1, x0:x1] = src[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
