"""The shared WebSocket client's codec (bench/wsclient.py), without a server: what it writes is
what RFC 6455 says, and what it reads comes out whole however the bytes are split."""
from bench.wsclient import BINARY, CLOSE, CONTINUATION, PING, TEXT, FrameParser, encode_frame, mask


def server_frame(opcode, payload, fin=True):
    n = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode,))
    if n < 126:
        head += bytes((n,))
    elif n < 65536:
        head += bytes((126,)) + n.to_bytes(2, "big")
    else:
        head += bytes((127,)) + n.to_bytes(8, "big")
    return head + payload


def unmask_client_frame(data):
    """(fin, opcode, announced length, payload) of one masked client frame."""
    fin, opcode, length, head = bool(data[0] & 0x80), data[0] & 0x0F, data[1] & 0x7F, 2
    assert data[1] & 0x80, "client frames are masked"
    if length == 126:
        length, head = int.from_bytes(data[2:4], "big"), 4
    elif length == 127:
        length, head = int.from_bytes(data[2:10], "big"), 10
    key = data[head:head + 4]
    return fin, opcode, length, mask(data[head + 4:], key)


def test_client_frames_are_masked_and_announce_their_length_or_the_one_asked_for():
    for size in (0, 1, 125, 126, 65535, 65536, 70000):
        payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
        assert unmask_client_frame(encode_frame(TEXT, payload)) == (True, TEXT, size, payload)
    assert unmask_client_frame(encode_frame(CONTINUATION, b"abc", False)) == (False, CONTINUATION, 3, b"abc")
    assert unmask_client_frame(encode_frame(TEXT, b"x" * 10, True, 100 * 1024 * 1024))[2] == 100 * 1024 * 1024


def test_frames_come_out_whole_whatever_the_reads_and_fragments_joined():
    big = "Grüße 🎉 ".encode() * 9000  # a 64-bit length
    stream = (server_frame(TEXT, b'{"type":"hello"}') + server_frame(TEXT, b"frag", fin=False)
              + server_frame(PING, b"p") + server_frame(CONTINUATION, b"ment", fin=False)
              + server_frame(CONTINUATION, b"ed") + server_frame(BINARY, b"\x00\xff" * 200)
              + server_frame(TEXT, big) + server_frame(CLOSE, (1000).to_bytes(2, "big")))
    expected = [(TEXT, b'{"type":"hello"}'), (PING, b"p"), (TEXT, b"fragmented"), (BINARY, b"\x00\xff" * 200),
                (TEXT, big), (CLOSE, b"\x03\xe8")]
    for step in (1, 2, 3, 7, 125, 4096, len(stream)):
        assert parse_in_reads(stream, step) == (expected, b""), step


def parse_in_reads(stream, step):
    """What a FrameParser calls back with when `stream` arrives `step` bytes a read; what it keeps."""
    got = []
    parser = FrameParser(lambda _, payload, at: got.append((TEXT, payload)),
                         lambda _, payload, at: got.append((BINARY, payload)))
    parser.control = lambda opcode, payload: got.append((opcode, payload)) or opcode != CLOSE
    for start in range(0, len(stream), step):
        parser.feed(stream[start:start + step])
    return got, bytes(parser.buf)
