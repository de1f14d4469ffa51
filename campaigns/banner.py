"""Validation of the campaign banner (SPEC §5): exactly 3000 × 600 px, PNG or JPEG, at most
5 MB, proven by decoding it with Pillow's pixel limit in force.

The order matters for safety: the size is checked before a single byte is decoded, the
decoders are limited to PNG and JPEG, the header's dimensions are checked before the pixels are
decoded, and a decompression-bomb warning is an error, not a log line.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

BANNER_WIDTH = 3000
BANNER_HEIGHT = 600
BANNER_MAX_BYTES = 5 * 1024 * 1024
BANNER_FORMATS = ("PNG", "JPEG")
EXTENSIONS = {"PNG": "png", "JPEG": "jpg"}

# Magic numbers of formats a developer is likely to try, so the message can name them.
OTHER_FORMATS = {
    b"GIF87a": "a GIF",
    b"GIF89a": "a GIF",
    b"RIFF": "a WebP",
    b"BM": "a BMP",
    b"II*\x00": "a TIFF",
    b"MM\x00*": "a TIFF",
    b"%PDF": "a PDF",
}


@dataclass(frozen=True)
class Banner:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _size_label(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def banner_validate(upload: UploadedFile) -> Banner:
    """Check an uploaded banner and return its format and size, or raise ValidationError with a
    message that says what is wrong. The file is rewound afterwards, ready to be saved."""
    size = upload.size or 0
    if size == 0:
        raise ValidationError("The banner file is empty. Upload a 3000 × 600 PNG or JPEG.")
    if size > BANNER_MAX_BYTES:
        # Checked before decoding: a huge file is refused without reading it.
        raise ValidationError(
            f"The banner is {_size_label(size)}; the limit is 5 MB. "
            "Save it as an optimised PNG or a JPEG."
        )
    upload.seek(0)
    head = upload.read(16)
    for magic, label in OTHER_FORMATS.items():
        if head.startswith(magic):
            raise ValidationError(
                f"The banner is {label} image; upload a PNG or JPEG (3000 × 600 pixels)."
            )
    try:
        with warnings.catch_warnings():
            # Above MAX_IMAGE_PIXELS Pillow only warns; twice over it raises. Both are refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload, formats=BANNER_FORMATS) as image:
                fmt, (width, height) = image.format, image.size
                image.verify()
            # The header's dimensions first: a wrong size is refused without decoding pixels.
            if (width, height) != (BANNER_WIDTH, BANNER_HEIGHT):
                raise ValidationError(
                    f"The banner is {width} × {height} pixels; it must be exactly "
                    f"{BANNER_WIDTH} × {BANNER_HEIGHT}."
                )
            # verify() leaves the image unusable and does not decode JPEG data: reopen and
            # decode every pixel, so a truncated or corrupt file is caught here.
            upload.seek(0)
            with Image.open(upload, formats=BANNER_FORMATS) as image:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            "The banner declares far more pixels than it may have (a decompression bomb); "
            f"it must be exactly {BANNER_WIDTH} × {BANNER_HEIGHT} pixels."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ValidationError(
            "The banner is not a PNG or JPEG image: it could not be read as one. "
            "Upload a 3000 × 600 PNG or JPEG."
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            "The banner file is damaged or incomplete: it could not be decoded. "
            "Export it again as PNG or JPEG."
        ) from exc
    finally:
        upload.seek(0)
    return Banner(format=fmt, width=width, height=height)
