"""Verify downloaded bytes are an allowed image and encode its variants with Pillow.

Only the JPEG, PNG, WebP and GIF decoders are ever tried. Size limits are checked from the
header, before any pixel is decoded. Variants carry no metadata: EXIF orientation is applied to
the pixels, colours are converted to sRGB, and EXIF, XMP, ICC profiles and comments are dropped.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from listings_pipeline.images.problems import ImageProblem
from listings_pipeline.images.settings import ImageSettings, VariantSpec

EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}
CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}
# Recognised only to name them in the error message; never decoded.
_OTHER_FORMATS = [
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
]
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = {5, 6, 7, 8}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass
class EncodedFile:
    variant: VariantSpec
    fmt: str  # "webp" or "jpeg"
    data: bytes
    width: int
    height: int


@dataclass
class Rendered:
    format: str  # of the source: JPEG, PNG, WEBP, GIF
    width: int  # of the source, after EXIF orientation
    height: int
    files: list[EncodedFile]


def render(body: IO[bytes], settings: ImageSettings, content_type: str | None) -> Rendered:
    image = _open(body, settings, content_type)
    source_format = image.format or "?"
    width, height = image.size
    target = _fit(width, height, max(v.max_side for v in settings.variants))
    if source_format == "JPEG":
        # Decode at a reduced DCT scale that still covers the largest variant: much less memory
        # and CPU for big photos (draft keeps both sides >= the requested size).
        image.draft("RGB", target)
    try:
        image.load()
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        pixels = _pixels(image)
        if pixels.size != target:
            pixels = pixels.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        if orientation in _TRANSPOSE:  # EXIF orientation goes into the pixels, the tag away
            pixels = pixels.transpose(_TRANSPOSE[orientation])
        pixels.info = {}  # no metadata travels to the encoders
    except Exception as exc:  # Pillow signals broken data with OSError, SyntaxError, ValueError…
        raise ImageProblem(
            "corrupt_image", f"cannot decode the {source_format} data: {exc}"
        ) from None
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    files = []
    current = pixels
    for spec in sorted(settings.variants, key=lambda v: v.max_side, reverse=True):
        size = _fit(width, height, spec.max_side)
        if size != current.size:
            # Each smaller variant is derived from the previous one: cheaper, same quality.
            current = current.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        for fmt in spec.formats:
            files.append(EncodedFile(spec, fmt, _encode(current, fmt, settings), *current.size))
    return Rendered(source_format, width, height, files)


def _open(body: IO[bytes], settings: ImageSettings, content_type: str | None) -> Image.Image:
    head = body.read(16)
    body.seek(0)
    if not head:
        raise ImageProblem("not_an_image", "the response body is empty")
    try:
        image = Image.open(body, formats=sorted(settings.allowed_formats))
    except Image.DecompressionBombError as exc:
        raise ImageProblem("decompression_bomb", str(exc)) from None
    except UnidentifiedImageError:
        for magic, name in _OTHER_FORMATS:
            if head.startswith(magic):
                raise ImageProblem(
                    "unsupported_format", f"{name} images are not accepted"
                ) from None
        allowed = ", ".join(sorted(settings.allowed_formats))
        raise ImageProblem(
            "not_an_image",
            f"not a {allowed} image (Content-Type {content_type or 'missing'}; "
            f"starts with {head!r})",
        ) from None
    except Exception as exc:
        raise ImageProblem("corrupt_image", f"cannot read the image header: {exc}") from None
    width, height = image.size
    if width * height > settings.max_pixels:
        raise ImageProblem(
            "decompression_bomb",
            f"{width}x{height} = {width * height} pixels exceeds the limit of "
            f"{settings.max_pixels}",
        )
    if max(width, height) > settings.max_dimension:
        raise ImageProblem(
            "dimensions_too_large",
            f"{width}x{height} exceeds the limit of {settings.max_dimension} px per side",
        )
    if width < 1 or height < 1:
        raise ImageProblem("corrupt_image", f"{width}x{height} is not a valid size")
    return image


def _pixels(image: Image.Image) -> Image.Image:
    """The first frame as RGB or RGBA, converted to sRGB when it carries another profile."""
    icc = image.info.get("icc_profile")
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):  # 16-bit/float grey
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        image = _to_srgb(image, icc, mode)
    return image if image.mode == mode else image.convert(mode)


def _to_srgb(image: Image.Image, icc: bytes, mode: str) -> Image.Image:
    """Convert to sRGB, since the profile is dropped with the rest of the metadata."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "sRGB" in ImageCms.getProfileDescription(profile):
            return image
        converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unusable profile: keep the pixels as they are
    return converted if converted is not None else image


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size with the long side at most max_side, keeping the aspect ratio, never larger."""
    long_side = max(width, height)
    if long_side <= max_side:
        return width, height
    scale = max_side / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _encode(image: Image.Image, fmt: str, settings: ImageSettings) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        if image.mode == "RGBA":  # JPEG has no alpha: flatten onto white
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.save(buffer, "JPEG", quality=settings.jpeg_quality, optimize=True, progressive=True)
    else:
        image.save(buffer, "WEBP", quality=settings.webp_quality, method=settings.webp_method)
    return buffer.getvalue()
