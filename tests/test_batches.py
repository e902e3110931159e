"""Gene batches and their loss (tfvocab.model.batches): every pair among a batch of genes, labelled
from the listed pairs; the batch loss is the mean of the per-pair losses; the bilinear head."""
import numpy as np
import pytest
import torch

from tfvocab.data import universe as U
from tfvocab.model.batches import IGNORE, GeneBatches, batch_loss, per_pair_bce
from tfvocab.model.model import ModelConfig, SiameseTransformer
from tfvocab.model.scoring import FusedHeadScorer

torch.set_num_threads(1)


def _world(n=60, n_pos=40, n_below=10, seed=0):
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(n, 1)
    pick = rng.choice(len(a), size=n_pos + n_below, replace=False)
    pa, pb = a[pick[:n_pos]], b[pick[:n_pos]]
    listed = np.sort(U.tri_index(a[pick], b[pick], n))          # positives + listed below threshold
    below = set(zip(a[pick[n_pos:]].tolist(), b[pick[n_pos:]].tolist()))
    return pa, pb, listed, below


def test_gene_batches_label_every_pair_and_cover_every_positive():
    n = 60
    pa, pb, listed, below = _world(n)
    gb = GeneBatches(n, pa, pb, listed, batch_genes=16, partner_fraction=0.5, seed=3)
    pos = set(zip(pa.tolist(), pb.tolist()))
    covered = set()
    for st in gb.steps(1):
        assert len(st.genes) == 16 and np.all(np.diff(st.genes) > 0)          # distinct, sorted
        assert len(st.y) == 16 * 15 // 2
        ga, gb_ = st.genes[st.ia], st.genes[st.ib]
        for x, y, lab in zip(ga.tolist(), gb_.tolist(), st.y.tolist()):
            key = (min(x, y), max(x, y))
            want = 1.0 if key in pos else (IGNORE if key in below else 0.0)
            assert lab == want
            if lab == 1.0:
                covered.add(key)
    assert covered == pos                       # every positive sits in a batch of the epoch
    # seeded by (seed, epoch): same epoch -> same batches, next epoch -> others
    assert all(np.array_equal(x, y) for x, y in zip(gb.batches(1), gb.batches(1)))
    assert not all(np.array_equal(x, y) for x, y in zip(gb.batches(1), gb.batches(2)))


def test_batches_split_across_ranks_without_overlap():
    pa, pb, listed, _ = _world()
    gb = GeneBatches(60, pa, pb, listed, batch_genes=16, seed=0)
    r0, r1 = gb.steps(1, world=2, rank=0), gb.steps(1, world=2, rank=1)
    assert len(r0) == len(r1) == -(-len(gb.batches(1)) // 2)


def _model(head="bilinear", bag=0, T=6, W=10):
    cfg = ModelConfig(input="continuous", n_tfs=T, n_windows=W, d_model=8, n_heads=2, pool_dim=4,
                      head_width=12, pair_features=head, grammar_bag=bag, dropout=0.0, attn_dropout=0.0,
                      head_dropout=0.0)
    torch.manual_seed(0)
    return SiameseTransformer(cfg).eval()


@pytest.mark.parametrize("loss", ["bce", "nnpu"])
@pytest.mark.parametrize("head", ["cosine", "bilinear", "similarity"])
def test_batch_loss_equals_mean_of_per_pair_losses(loss, head):
    """The gene-batch loss over every pair of a batch (embeddings computed once, pairs scored as
    a block) equals the per-pair losses computed one pair at a time, each from the two genes'
    own forward pass, weighted as the loss says (class-balanced BCE: each class half)."""
    model = _model(head, bag=8)
    rng = np.random.default_rng(1)
    n, B = 30, 7
    values = torch.from_numpy(rng.gamma(0.5, 2.0, size=(n, 10, 6)).astype(np.float32))
    mask = torch.zeros(n, 10, dtype=torch.bool)
    pa, pb = np.array([0, 2, 3, 5]), np.array([1, 4, 6, 9])
    listed = np.sort(U.tri_index(np.array([0, 2, 3, 5, 7]), np.array([1, 4, 6, 9, 8]), n))
    genes = np.arange(B)
    ia, ib, y = GeneBatches(n, pa, pb, listed, batch_genes=B).labels(genes)
    assert (y == 1).sum() == 3 and (y == IGNORE).sum() == 0 and (y == 0).sum() == 18
    y[3] = IGNORE                                            # a listed pair below threshold: no loss
    emb = model.encode(None, values[genes], mask[genes])
    logits = model.pair_logits(emb, torch.from_numpy(ia), torch.from_numpy(ib))
    _, risk = batch_loss(logits, torch.from_numpy(y), loss, prior=0.1)
    one = []
    for a, b in zip(ia, ib):
        two = model.encode(None, values[[genes[a], genes[b]]], mask[[genes[a], genes[b]]])
        one.append(model.score(two[:1], two[1:])[0])
    one = torch.stack(one)
    torch.testing.assert_close(one, logits, rtol=1e-5, atol=1e-5)
    yt = torch.from_numpy(y)
    pos, neg = yt == 1, yt == 0
    if loss == "bce":
        want = 0.5 * per_pair_bce(one, yt)[pos].mean() + 0.5 * per_pair_bce(one, yt)[neg].mean()
    else:
        sp = torch.nn.functional.softplus
        want = 0.1 * sp(-one[pos]).mean() + sp(one[neg]).mean() - 0.1 * sp(one[pos]).mean()
    torch.testing.assert_close(risk, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("head", ["cosine", "bilinear", "similarity"])
def test_dense_pair_logits_match_gathered_pairs(head):
    """Every pair among a batch is scored by (U, U) matrix products; a few pairs by gathering
    rows: the two paths give the same logits and the same gradients."""
    model = _model(head, bag=8)
    rng = np.random.default_rng(3)
    values = torch.from_numpy(rng.gamma(0.5, 2.0, size=(9, 10, 6)).astype(np.float32))
    emb = model.encode(None, values, torch.zeros(9, 10, dtype=torch.bool))
    ia, ib = torch.triu_indices(9, 9, 1)
    dense = model.pair_logits(emb, ia, ib)
    sparse = torch.cat([model.pair_logits(emb, ia[s:s + 5], ib[s:s + 5]) for s in range(0, len(ia), 5)])
    torch.testing.assert_close(dense, sparse, rtol=1e-5, atol=1e-5)
    gd = torch.autograd.grad(dense.square().sum(), model.parameters(), allow_unused=True, retain_graph=True)
    gs = torch.autograd.grad(sparse.square().sum(), model.parameters(), allow_unused=True)
    for a, b in zip(gd, gs):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_bilinear_head_is_symmetric_and_fused_scorer_matches():
    model = _model("bilinear", bag=8)
    rng = np.random.default_rng(2)
    values = torch.from_numpy(rng.gamma(0.5, 2.0, size=(12, 10, 6)).astype(np.float32))
    emb = model.encode(None, values, torch.zeros(12, 10, dtype=torch.bool)).detach()
    ia, ib = torch.triu_indices(12, 12, 1)
    s_ab, s_ba = model.score(emb[ia], emb[ib]), model.score(emb[ib], emb[ia])
    assert torch.equal(s_ab, s_ba)
    block = FusedHeadScorer(model, emb, logits=True)(torch.arange(12), torch.arange(12))
    torch.testing.assert_close(block[ia, ib], s_ab.detach(), rtol=1e-5, atol=1e-5)
