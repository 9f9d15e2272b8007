"""Corpora: the shared Wikipedia CSVs, text files, and the checked download (served on loopback)."""

import functools
import http.server
import threading

import pytest

from geomexp.data import download_file, load_text_corpus, load_wikipedia_corpus
from geomexp.data.corpus import sentences_checksum
from geomexp.errors import DataNotFoundError

SW_MD5 = "c5ff0899e21f7769e3b93a821c831972"


def test_reads_the_papers_swahili_corpus(data_root, tmp_path):
    corpus = load_wikipedia_corpus("sw", "sawahili.csv", root=data_root, download_dir=tmp_path)
    assert len(corpus.sentences) == 449
    assert corpus.sentences[1].startswith("Safari hii ilipeleka")
    assert corpus.checksum == sentences_checksum(corpus.sentences)


def test_missing_root_and_missing_file_name_the_path(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"data root .*nowhere does not exist.*GEOMEXP_DATA_DIR"):
        load_wikipedia_corpus("sw", "sawahili.csv", root=tmp_path / "nowhere", download_dir=tmp_path)
    (tmp_path / "Wikipedia").mkdir()
    with pytest.raises(DataNotFoundError, match=r"Wikipedia/Klingon.csv not found in data root"):
        load_wikipedia_corpus("tlh", "Klingon.csv", root=tmp_path, download_dir=tmp_path)


def test_no_download_allowed_says_so(tmp_path):
    with pytest.raises(DataNotFoundError, match="data.download=false"):
        load_wikipedia_corpus("sw", "sawahili.csv", root=None, download_dir=tmp_path, download=False)


@pytest.fixture
def served(data_root):
    """An HTTP server on 127.0.0.1 serving the data folder, like the authors' raw GitHub files."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(data_root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_when_no_root_checks_md5_and_reuses_the_file(served, tmp_path):
    corpus = load_wikipedia_corpus("sw", "sawahili.csv", root=None, download_dir=tmp_path, md5=SW_MD5, base_url=served)
    assert len(corpus.sentences) == 449
    assert (tmp_path / "Wikipedia" / "sawahili.csv").is_file()
    again = load_wikipedia_corpus(
        "sw", "sawahili.csv", root=None, download_dir=tmp_path, md5=SW_MD5, base_url="http://127.0.0.1:9/none"
    )
    assert again.checksum == corpus.checksum  # second time read from disk, no server needed


def test_checksum_mismatch_fails_and_leaves_nothing(served, tmp_path):
    dest = tmp_path / "Wikipedia" / "sawahili.csv"
    with pytest.raises(DataNotFoundError, match="checksum mismatch"):
        download_file(f"{served}/Wikipedia/sawahili.csv", dest, md5="0" * 32)
    assert list((tmp_path / "Wikipedia").iterdir()) == []


def test_unreachable_url_fails_clearly(tmp_path):
    with pytest.raises(DataNotFoundError, match="could not download http://127.0.0.1:9/x.csv"):
        download_file("http://127.0.0.1:9/x.csv", tmp_path / "x.csv", timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_names_the_offline_remedy(tmp_path):
    """Issue 31: offline, a recipe failed with a bare urlopen error; it now says how to point geomexp at a copy."""
    from geomexp.data.download import locate_data_file

    with pytest.raises(DataNotFoundError) as err:
        locate_data_file("Wikipedia/x.csv", root=None, download_dir=tmp_path, base_url="http://127.0.0.1:9")
    message = str(err.value)
    assert message.startswith("could not download http://127.0.0.1:9/Wikipedia/x.csv")
    assert "GEOMEXP_DATA_DIR=<folder> or data.root=<folder>" in message and "conf/local/default.yaml" in message


def test_setup_records_the_data_beside_the_project_for_later_commands(tmp_path, monkeypatch):
    """Issue 31: `make` exported GEOMEXP_DATA_DIR for its own commands only, so `python run.py ...` after
    activation tried to download. `make setup` (its local-data step) now writes a git-ignored local config
    that composition reads; the variable, when set, still wins; an existing file is never overwritten."""
    import shutil
    import subprocess

    from conftest import ROOT
    from omegaconf import OmegaConf

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    data = tmp_path / "shared" / "data" / "rajaee2022"
    (data / "Wikipedia").mkdir(parents=True)
    local = tmp_path / "conf" / "local" / "default.yaml"
    args = ["make", "-s", "local-data", f"SHARED_DATA={data}", f"LOCAL_CONF={local}"]
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    assert "- optional local: default" in (ROOT / "conf" / "config.yaml").read_text()  # composition reads it
    written = OmegaConf.load(local)
    assert local.read_text().startswith("# @package _global_\n")  # merged at the top: data.root
    monkeypatch.delenv("GEOMEXP_DATA_DIR", raising=False)
    assert written.data.root == str(data)
    monkeypatch.setenv("GEOMEXP_DATA_DIR", "/elsewhere")
    assert written.data.root == "/elsewhere"
    local.write_text("# @package _global_\ndata:\n  root: /mine\n")
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    assert local.read_text().endswith("root: /mine\n")  # the user's own file is kept


def test_text_corpus_skips_blank_lines(tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("first sentence\n\n  second one  \n", encoding="utf-8")
    corpus = load_text_corpus("xx", f)
    assert corpus.sentences == ("first sentence", "second one")
    with pytest.raises(DataNotFoundError, match="not found"):
        load_text_corpus("xx", tmp_path / "missing.txt")
