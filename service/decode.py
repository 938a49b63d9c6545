"""open_image: upload bytes → one decoded PIL image (first frame), refusing non-images and bombs before decoding.

Error rules (every failure is an ApiError; no Pillow exception escapes):

- 400 ``invalid_image``: the body is empty, or Pillow recognises the format but cannot decode it
  (truncated or corrupt file).
- 413 ``image_too_large``: the header declares more than ``max_pixels`` pixels (checked on the size read
  from the header, before any pixel is decoded), or Pillow's own decompression-bomb guard fires.
- 415 ``unsupported_media_type``: the bytes are none of FORMATS (SVG, PDF, HTML, plain text, random bytes,
  and also real images in formats we do not read, such as EPS, ICO or PPM — whatever the file is named).
  The rule is "not a format we read", decided by Pillow's own identification, not by content sniffing;
  restricting Pillow to FORMATS also keeps risky decoders (EPS runs Ghostscript) out of reach.

Phones save HEIC (iPhones since iOS 11) or AVIF: HEIC is read by pillow-heif (libheif with libde265; 26 MB
installed), AVIF by Pillow's own plugin (libavif). A HEIC file's rotation is applied by libheif as it decodes, and
its EXIF orientation then reads 1 (the tag it had stays in ``info["original_orientation"]``). Neither format
decodes at a reduced scale: preprocessing a 12-megapixel HEIC takes about 200 ms, an AVIF 65 ms, a JPEG 37 ms
(docs/serving.md). A HEIC's embedded thumbnail, depth map and auxiliary images are never decoded.

Animated GIFs and multi-frame TIFFs yield their first frame; ``n_frames`` stays readable on the result.
Blank or 1×1 images decode fine here; preprocessing answers them with 422 ``no_ink``.

A caller that box-reduces what it reads by an integer factor and wants it in grey (preprocessing: to at most
``work_side`` pixels a side) may have a large JPEG decoded smaller: libjpeg scales in the DCT by 1/2, 1/4 or 1/8
and skips the colour conversion, several times cheaper than decoding it whole and reducing it after. The scale is
the largest power of two that divides the caller's own factor, so the caller ends with exactly as many pixels as
without it. The checks above are made on the size the file declares, before any scaling.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import pillow_heif
from PIL import Image, UnidentifiedImageError

from service.errors import ApiError

pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)  # the format "HEIF"

# In the order Pillow tries them. JPEG includes MPO (a phone's 2nd picture). AVIF before HEIF: a file whose brand
# is the generic mif1 is either, and Pillow's AVIF plugin passes one it cannot parse on; pillow-heif would fail it.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "AVIF", "HEIF")
NAMES = "PNG, JPEG, GIF, BMP, WebP, TIFF, HEIC, AVIF"  # FORMATS as people name them
ACCEPT = "image/*,.heic,.heif,.avif"  # what the page's file picker offers: not every system counts HEIF or AVIF
# files as image/*
MAX_PIXELS = 8192 * 6144  # a 50-megapixel phone sensor's full frame (50.3 MP; a 48 MP iPhone's is 8064×6048): the
# largest photo a phone makes short of its 200 MP modes, far below a bomb
DRAFT_SCALES = (8, 4, 2)  # what libjpeg can scale by while it decodes


class Upload(NamedTuple):
    """A decoded upload: the image, the size its file declares, and how many times smaller it was decoded."""

    image: Image.Image
    size: tuple[int, int]  # (width, height) as uploaded
    scale: int  # image.size is size / scale, rounded up; 1 unless a large JPEG was decoded in draft


def _too_large(width: int, height: int, max_pixels: int) -> ApiError:
    return ApiError(413, "image_too_large", f"image is {width}×{height} pixels; the limit is {max_pixels:,} pixels")


# File signatures of the formats we read: a file that starts like one of them but fails to parse is corrupt (400),
# not of another kind (415).
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1", b"avif", b"avis")


def _looks_like_ours(data: bytes) -> bool:
    return (
        data.startswith(SIGNATURES)
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (data[4:8] == b"ftyp" and data[8:12] in BRANDS)  # an ISO media file: its box, then its major brand
    )


def _identify(data: bytes, max_pixels: int) -> Image.Image:
    """Read only the header: the format and the declared size."""
    if not data:
        raise ApiError(400, "invalid_image", "the upload is empty")
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        if _looks_like_ours(data):
            raise ApiError(400, "invalid_image", "the image is corrupt or truncated") from None
        raise ApiError(415, "unsupported_media_type", f"not an image format we read ({NAMES})") from None
    except Image.DecompressionBombError as exc:
        raise ApiError(413, "image_too_large", str(exc)) from exc
    except Exception as exc:  # Pillow's header parsers raise many types (SyntaxError, struct.error, …)
        raise ApiError(400, "invalid_image", f"cannot read the image header: {exc}") from exc
    if img.width * img.height > max_pixels:
        raise _too_large(img.width, img.height, max_pixels)
    return img


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode the first frame of an uploaded image, or raise ApiError (400, 413 or 415)."""
    return open_upload(data, max_pixels).image


def open_upload(data: bytes, max_pixels: int = MAX_PIXELS, work_side: int | None = None) -> Upload:
    """Decode the first frame of an upload; with work_side, a large JPEG in grey at a reduced scale (see above)."""
    img = _identify(data, max_pixels)
    size = img.size
    scale = _draft(img, work_side) if work_side else 1
    _load(img, size, max_pixels)
    return Upload(img, size, scale)


def _draft_scale(size: tuple[int, int], work_side: int) -> int:
    """The JPEG scale that keeps every pixel a box-reduce to work_side keeps: the largest of DRAFT_SCALES that
    divides that reduction's factor, or 1."""
    factor = -(-max(size) // work_side)
    return next((s for s in DRAFT_SCALES if factor % s == 0), 1)


def _draft(img: Image.Image, work_side: int) -> int:
    """Ask libjpeg for a grey image _draft_scale times smaller; return the scale it decodes at (1 if none)."""
    scale = _draft_scale(img.size, work_side) if img.format in ("JPEG", "MPO") else 1
    if scale == 1:
        return 1
    w, h = img.size
    drafted = img.draft("L", (w // scale, h // scale))  # None: more than one tile, or drafted already
    return 1 if drafted is None else round(w / drafted[1][2])  # drafted: (mode, (0, 0, w / scale, h / scale))


def _load(img: Image.Image, size: tuple[int, int], max_pixels: int) -> None:
    """Decode the pixels of an upload of SIZE, turning Pillow's failures into ApiError."""
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise _too_large(*size, max_pixels) from exc
    except Exception as exc:  # truncated or corrupt data: OSError, ValueError, EOFError, …
        raise ApiError(400, "invalid_image", f"cannot decode the {img.format} image: {exc}") from exc
    if img.width < 1 or img.height < 1:
        raise ApiError(400, "invalid_image", "the image has no pixels")
