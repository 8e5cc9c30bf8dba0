import pytest

from kefu.core import crypto
from kefu.core.errors import ValidationFailed
from kefu.core.masking import mask_address, mask_id_number, mask_name, mask_phone


def test_encrypt_round_trips_and_is_randomised():
    a, b = crypto.encrypt("13812345678"), crypto.encrypt("13812345678")
    assert a != b and a.startswith("v1:")
    assert crypto.decrypt(a) == "13812345678"


def test_tampered_ciphertext_is_refused():
    token = crypto.encrypt("13812345678")
    raw = bytearray(crypto.base64.b64decode(token[3:]))
    raw[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        crypto.decrypt("v1:" + crypto.base64.b64encode(bytes(raw)).decode())


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "138-1234-5678", "(+86)13812345678"],
)
def test_phone_spellings_share_one_blind_index(raw):
    assert crypto.normalize_phone(raw) == "13812345678"
    assert crypto.phone_index(raw) == crypto.phone_index("13812345678")


def test_landlines_keep_their_area_code():
    assert crypto.normalize_phone("021-6123 4567") == "02161234567"
    assert crypto.normalize_phone("+86 21 6123 4567") == "02161234567"
    assert crypto.normalize_phone("010-66171234") == "01066171234"
    assert crypto.normalize_phone("+86 10 6617 1234") == "01066171234"


@pytest.mark.parametrize("raw", ["打电话给我", "12345abc", "138-1234-567X"])
def test_nonsense_is_not_a_phone(raw):
    with pytest.raises(ValidationFailed):
        crypto.normalize_phone(raw)


def test_phone_and_id_indexes_never_collide():
    assert crypto.blind_index("123", "phone") != crypto.blind_index("123", "id")


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_id_number("110101199001011234") == "110***********1234"
    assert mask_address("上海市浦东新区世纪大道100号") == "上海市浦东新****"
