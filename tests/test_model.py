"""The Siamese transformer: exact pair symmetry, masking, attention weights, configuration checks."""
import pytest
import torch

from tfvocab.data import dedup_pairs
from tfvocab.model import ModelConfig, SiameseTransformer, sinusoidal_positions

torch.set_num_threads(1)
B, W, T, K = 6, 12, 5, 9


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, K - 1, (B, W), generator=g)
    values = torch.randn(B, W, T, generator=g)
    mask = torch.zeros(B, W, dtype=torch.bool)
    mask[0, 3] = mask[1, [0, 5, 11]] = mask[4, 7] = True
    tokens[mask] = K - 1
    values[mask] = 0.0
    return tokens, values, mask


def _model(**kw):
    torch.manual_seed(0)
    cfg = ModelConfig(n_tokens=K, n_tfs=T, n_windows=W, d_model=16, n_layers=2, n_heads=4, **kw)
    return SiameseTransformer(cfg).eval()


@pytest.mark.parametrize("mode", ["tokens", "continuous", "both"])
@pytest.mark.parametrize("pooling", ["cls", "mean", "flatten"])
def test_pair_score_is_exactly_symmetric(mode, pooling):
    model = _model(input=mode, pooling=pooling)
    tok, val, m = _inputs()
    with torch.no_grad():
        v = model.encode(tok, val, m)
        va, vb = v, v.flip(0)
        s_ab, s_ba = model.score(va, vb), model.score(vb, va)
    assert torch.equal(s_ab, s_ba)
    assert not torch.equal(s_ab, model.score(va, va))  # the score does depend on the pair


@pytest.mark.parametrize("mode", ["tokens", "continuous", "both"])
@pytest.mark.parametrize("pooling,positions", [("cls", "learned"), ("mean", "sinusoidal"), ("flatten", "learned")])
def test_masked_window_content_does_not_change_output(mode, pooling, positions):
    model = _model(input=mode, pooling=pooling, positions=positions)
    tok, val, m = _inputs()
    tok2, val2 = tok.clone(), val.clone()
    tok2[m] = 2          # garbage content in the masked windows only
    val2[m] = 50.0
    with torch.no_grad():
        a = model.encode(tok, val, m)
        b = model.encode(tok2, val2, m)
        c = model.encode(tok2, val2, torch.zeros_like(m))  # unmasked garbage does change it
    assert torch.allclose(a, b, atol=1e-6, rtol=0)
    assert not torch.allclose(a[[0, 1, 4]], c[[0, 1, 4]], atol=1e-4)


def test_fully_masked_promoter_gives_finite_embedding():
    model = _model(input="continuous", pooling="mean")
    tok, val, m = _inputs()
    m[2] = True
    with torch.no_grad():
        v = model.encode(tok, val, m)
    assert torch.isfinite(v).all()


def test_attention_weights_per_layer():
    model = _model(input="both", pooling="cls")
    tok, val, m = _inputs()
    with torch.no_grad():
        v, attn = model.encode(tok, val, m, return_attention=True)
        v2 = model.encode(tok, val, m)
    assert torch.allclose(v, v2, atol=1e-5)
    assert len(attn) == 2 and attn[0].shape == (B, 4, W + 1, W + 1)
    assert torch.allclose(attn[0].sum(-1), torch.ones(B, 4, W + 1), atol=1e-5)
    # masked windows (key index +1 for CLS) receive no attention
    assert float(attn[1][1, :, :, 1 + 5].abs().max()) == 0.0


def test_forward_with_dedup_matches_encoding_each_side():
    model = _model(input="continuous")
    tok, val, m = _inputs()
    ia = torch.tensor([0, 0, 1, 3, 3, 3])
    ib = torch.tensor([1, 2, 2, 4, 5, 0])
    uniq, inv_a, inv_b = dedup_pairs(ia, ib)
    assert uniq.tolist() == [0, 1, 2, 3, 4, 5] and torch.equal(uniq[inv_a], ia) and torch.equal(uniq[inv_b], ib)
    with torch.no_grad():
        dedup = model(tok[uniq], val[uniq], m[uniq], inv_a, inv_b)
        naive = model.score(model.encode(tok[ia], val[ia], m[ia]), model.encode(tok[ib], val[ib], m[ib]))
    assert torch.allclose(dedup, naive, atol=1e-5)


def test_d_ff_default_and_head_layers():
    model = _model(input="tokens", head_layers=3, head_width=8)
    assert model.layers[0].ff[0].out_features == 4 * 16
    assert sum(isinstance(x, torch.nn.Linear) for x in model.head) == 4
    assert model.val_proj is None and model.tok_emb is not None


def test_bad_config_rejected():
    with pytest.raises(ValueError, match="divide"):
        SiameseTransformer(ModelConfig(n_tfs=T, d_model=30, n_heads=4))
    with pytest.raises(ValueError, match="n_tokens"):
        SiameseTransformer(ModelConfig(input="tokens", n_tfs=T))


def test_sinusoidal_positions_shape_and_range():
    pe = sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16) and pe.abs().max() <= 1.0
    assert not torch.equal(pe[0], pe[1])
