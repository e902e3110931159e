"""The Siamese transformer: exact pair symmetry, masking, attention weights, configuration checks."""
import math

import pytest
import torch

from tfvocab.data.genedata import dedup_pairs
from tfvocab.model.model import ModelConfig, SiameseTransformer, sinusoidal_positions

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
    model = _model(input="tokens", pair_features="similarity", head_layers=3, head_width=8)
    assert model.layers[0].ff[0].out_features == 4 * 16
    assert sum(isinstance(x, torch.nn.Linear) for x in model.head) == 4
    assert model.val_proj is None and model.tok_emb is not None
    assert _model(input="tokens").head is None          # the default cosine head has no MLP


def test_bad_config_rejected():
    with pytest.raises(ValueError, match="divide"):
        SiameseTransformer(ModelConfig(n_tfs=T, d_model=30, n_heads=4))
    with pytest.raises(ValueError, match="n_tokens"):
        SiameseTransformer(ModelConfig(input="tokens", n_tfs=T))


def test_sinusoidal_positions_shape_and_range():
    pe = sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16) and pe.abs().max() <= 1.0
    assert not torch.equal(pe[0], pe[1])


# ------------------------------------------------------------------ ordered TF pairs (grammar)

def _peak(W, T, sites, height=12.0, sd=1.0):
    """Enrichment-like z (1, W, T): Gaussian bumps (window units) at (tf, centre window) sites."""
    z = torch.zeros(1, W, T)
    w = torch.arange(W, dtype=torch.float32)
    for t, c in sites:
        z[0, :, t] += height * torch.exp(-0.5 * ((w - c) / sd) ** 2)
    return z


def test_events_and_ordered_pairs_by_hand():
    """TF0 at 10.3 windows, TF1 at 10.8 (25 bp downstream at stride 50), TF2 far away: one event
    per peak, placed between windows by the centroid; one ordered pair (TF0 then TF1)."""
    from tfvocab.model import grammar

    z = _peak(30, 3, [(0, 10.3), (1, 10.8), (2, 22.0)])
    ev, pos = grammar.events(z, threshold=3.0, stride=50)
    assert ev[0, :, 0].nonzero().flatten().tolist() == [10]
    assert ev[0, :, 1].nonzero().flatten().tolist() == [11]
    assert ev[0, :, 2].nonzero().flatten().tolist() == [22]
    assert pos[0, 10, 0] < pos[0, 11, 1] and abs(pos[0, 10, 0] - (10.3 * 50 + 25)) < 12
    p = grammar.ordered_pairs(ev, pos, z, stride=50)
    assert p["first"].tolist() == [0] and p["second"].tolist() == [1] and p["gene"].tolist() == [0]
    assert 0 < p["weight"].item() < math.log1p(12) ** 2
    w = grammar.pair_weights(p, z, pos, 3.0)
    assert w.item() == pytest.approx(p["weight"].item(), rel=1e-5)   # both well above threshold
    assert grammar.pair_weights(p, z, pos, 11.5).item() < w.item()  # ramps in above the threshold
    idx, sign = grammar.pair_index(p["first"], p["second"], 3, 100)
    rev_idx, rev_sign = grammar.pair_index(p["second"], p["first"], 3, 100)
    assert idx.item() == rev_idx.item() == 0 and sign.item() == 1 and rev_sign.item() == -1
    assert grammar.pair_index(torch.tensor([1]), torch.tensor([2]), 3, 100)[0].item() == 2
    hashed, hs = grammar.pair_index(torch.tensor([5, 7]), torch.tensor([7, 5]), 300, 64)
    assert hashed[0] == hashed[1] and hs[0] == -hs[1] and (hashed < 64).all()


def test_grammar_bag_is_antisymmetric_in_order():
    """The bag of A-then-B is minus the bag of B-then-A; a spaced-out pair (> 60 bp) gives no
    pair; with the grammar term a promoter scores higher with its own order than with the
    reversed one (positive initial weights: grammar_init 1, gain 1, on the similarity head)."""
    torch.manual_seed(0)
    m = SiameseTransformer(ModelConfig(input="continuous", n_tfs=3, n_windows=30, d_model=8,
                                       n_heads=2, grammar_bag=64, pooling="mean", pair_features="similarity",
                                       grammar_init=1.0, grammar_gain=1.0)).eval()
    mask = torch.zeros(1, 30, dtype=torch.bool)
    ab = m.grammar_bag(_peak(30, 3, [(0, 10.2), (1, 10.8)]), mask)
    ba = m.grammar_bag(_peak(30, 3, [(1, 10.2), (0, 10.8)]), mask)
    far = m.grammar_bag(_peak(30, 3, [(0, 10.2), (1, 15.0)]), mask)
    assert m.bag_dim == 3 and ab.abs().sum() > 0
    assert torch.allclose(ab, -ba) and far.abs().sum() == 0
    with torch.no_grad():
        vab = m.encode(None, _peak(30, 3, [(0, 10.2), (1, 10.8)]), mask)
        vba = m.encode(None, _peak(30, 3, [(1, 10.2), (0, 10.8)]), mask)
        assert vab.shape[1] == m.out_dim == 8 + 3
        same, other = m.score(vab, vab), m.score(vab, vba)
        ext = (vab[:, 8:] * vab[:, 8:]).sum() * 2      # grammar term gap at init (weights 1)
    assert torch.equal(m.score(vab, vba), m.score(vba, vab))
    assert same - other > 0.5 * ext
    # the pair weights are differentiable in the values (gradient attributions see the bag)
    x = _peak(30, 3, [(0, 10.2), (1, 10.8)]).requires_grad_(True)
    bag = m.grammar_bag(x, mask)
    bag.abs().sum().backward()
    assert x.grad[0, 10, 0] != 0 and x.grad[0, 11, 1] != 0 and x.grad[0, 22].abs().sum() == 0


@pytest.mark.parametrize("pooling", ["cls", "flatten"])
def test_grammar_and_relative_bias_keep_symmetry_and_masking(pooling):
    model = _model(input="continuous", pooling=pooling, grammar_bag=16, rel_bias=4)
    tok, val, m = _inputs()
    val = val.abs() * 4                                  # some windows above the event threshold
    val2 = val.clone()
    val2[m] = 50.0
    with torch.no_grad():
        v = model.encode(tok, val, m)
        assert torch.equal(model.score(v, v.flip(0)), model.score(v.flip(0), v))
        assert torch.allclose(v, model.encode(tok, val2, m), atol=1e-6, rtol=0)
        assert model.rel is not None and v.shape[1] == model.out_dim
