"""The campaign banner: exactly 3000 × 600, PNG or JPEG, at most 5 MB, decoded with Pillow's pixel
limit in force. Each refusal says what is wrong, on the page of step 6."""

from __future__ import annotations

import io
import random

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from campaigns.banner import BANNER_MAX_BYTES, banner_validate
from campaigns.models import Campaign

from .conftest import image_bytes, png_bomb, step_url, upload

MESSAGES = {
    "announcement_message": "Finish level 10 and win a pair of earbuds!",
    "announcement_criteria": "Players who reached level 8",
    "redemption_message": "Congratulations! Claim your earbuds.",
    "terms": "While supplies last.",
}


def refusal(file) -> str:
    with pytest.raises(ValidationError) as caught:
        banner_validate(file)
    return " ".join(caught.value.messages)


def test_a_3000_by_600_png_is_accepted():
    banner = banner_validate(upload("banner.png", image_bytes()))
    assert (banner.format, banner.width, banner.height) == ("PNG", 3000, 600)


def test_a_3000_by_600_jpeg_is_accepted_and_saved_with_a_jpg_extension():
    banner = banner_validate(upload("photo.jpeg", image_bytes(fmt="JPEG"), "image/jpeg"))
    assert (banner.format, banner.extension) == ("JPEG", "jpg")


def test_a_3001_by_600_png_is_refused_with_its_real_size():
    message = refusal(upload("banner.png", image_bytes(3001, 600)))
    assert message == "The banner is 3001 × 600 pixels; it must be exactly 3000 × 600."


def test_a_gif_is_refused_as_a_gif_even_when_named_png():
    message = refusal(upload("banner.png", image_bytes(fmt="GIF")))
    assert message == "The banner is a GIF image; upload a PNG or JPEG (3000 × 600 pixels)."


def test_a_text_file_named_png_is_refused_as_not_an_image():
    message = refusal(upload("banner.png", b"this is not an image, just text\n" * 10))
    assert message.startswith("The banner is not a PNG or JPEG image: it could not be read")


def test_an_empty_file_is_refused_as_empty():
    assert refusal(upload("banner.png", b"")) == (
        "The banner file is empty. Upload a 3000 × 600 PNG or JPEG."
    )


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded():
    bomb = png_bomb()
    assert len(bomb) < 100_000  # tiny on disk, 400 megapixels declared
    message = refusal(upload("banner.png", bomb))
    assert message.startswith("The banner declares far more pixels than it may have")


def test_an_image_just_over_pillows_pixel_limit_is_refused_as_a_bomb_not_a_warning():
    # Between MAX_IMAGE_PIXELS and twice that, Pillow only warns: the warning must refuse too.
    side = int(Image.MAX_IMAGE_PIXELS**0.5) + 100
    message = refusal(upload("banner.png", png_bomb(side, side)))
    assert message.startswith("The banner declares far more pixels than it may have")


def test_a_file_over_5_mb_is_refused_before_it_is_decoded():
    # Not an image at all: the size check answers first, without decoding anything.
    message = refusal(upload("banner.png", b"\x89PNG" + b"\x00" * BANNER_MAX_BYTES))
    assert message.startswith("The banner is 5.0 MB; the limit is 5 MB.")


def test_a_truncated_png_is_refused_because_it_cannot_be_fully_decoded():
    # Noise compresses badly, so cutting the file leaves a header that verify() accepts but
    # pixels that cannot all be decoded.
    noise = Image.frombytes("RGB", (3000, 600), random.Random(0).randbytes(3000 * 600 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    data = buffer.getvalue()
    message = refusal(upload("banner.png", data[: len(data) // 2]))
    assert message.startswith("The banner file is damaged or incomplete")


def test_a_truncated_jpeg_is_refused_because_it_cannot_be_fully_decoded():
    data = image_bytes(fmt="JPEG")
    message = refusal(upload("banner.jpg", data[: len(data) // 2], "image/jpeg"))
    assert message.startswith("The banner file is damaged or incomplete")


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("wide.png", image_bytes(3001, 600), "The banner is 3001 × 600 pixels"),
        ("anim.gif", image_bytes(fmt="GIF"), "The banner is a GIF image"),
        ("notes.png", b"hello, I am text", "The banner is not a PNG or JPEG image"),
        ("empty.png", b"", "The banner file is empty."),
        ("bomb.png", png_bomb(), "The banner declares far more pixels than it may have"),
    ],
)
def test_step_6_refuses_a_bad_banner_at_the_banner_field_and_keeps_no_file(
    alice_client, draft_at, name, content, expected
):
    campaign = draft_at(6)
    response = alice_client.post(
        step_url(campaign, 6), {**MESSAGES, "banner": upload(name, content)}
    )
    assert response.status_code == 200
    assert expected in " ".join(response.context["form"].errors["banner"])
    assert expected in response.content.decode()
    campaign.refresh_from_db()
    assert not campaign.banner
    assert campaign.wizard_step == 6


def test_step_6_refuses_a_banner_over_5_mb_and_says_how_big_it_is(alice_client, draft_at):
    campaign = draft_at(6)
    too_big = b"\x89PNG" + b"\x00" * (6 * 1024 * 1024 - 4)
    response = alice_client.post(
        step_url(campaign, 6), {**MESSAGES, "banner": upload("banner.png", too_big)}
    )
    message = "The banner is 6.0 MB; the limit is 5 MB. Save it as an optimised PNG or a JPEG."
    assert response.status_code == 200
    assert response.context["form"].errors["banner"] == [message]
    assert message in response.content.decode()
    campaign.refresh_from_db()
    assert not campaign.banner
    assert campaign.wizard_step == 6


def test_step_6_requires_a_banner_when_the_campaign_has_none(alice_client, draft_at):
    campaign = draft_at(6)
    response = alice_client.post(step_url(campaign, 6), MESSAGES)
    assert response.context["form"].errors["banner"] == [
        "Upload the banner: a 3000 × 600 PNG or JPEG."
    ]


def test_step_6_stores_an_accepted_banner_under_its_own_name(alice_client, draft_at):
    campaign = draft_at(6)
    response = alice_client.post(
        step_url(campaign, 6),
        {**MESSAGES, "banner": upload("../../etc/My Banner.PNG", image_bytes())},
        follow=True,
    )
    assert "Banner accepted: 3000 × 600 pixels." in response.content.decode()
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.banner.name.startswith(f"banners/{campaign.campaign_id.hex}-")
    assert campaign.banner.name.endswith(".png")
    with Image.open(campaign.banner.path) as stored:
        assert stored.size == (3000, 600)
