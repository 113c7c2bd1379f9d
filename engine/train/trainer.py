"""The networks, optimisers and one update of each stage (docs/method.md: Stage 1, Stage 2).

Stage 1, every step, in order: background D, child D, image-code critics (WGAN-GP), then one
joint generator + encoder step, then the generator EMA (BatchNorm buffers included).
Stage 2: generator and encoders frozen; the feature extractor learns the parent feature map.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from engine.codes import Codes, sample_tied, sample_untied, soft_codes
from engine.config import ModelConfig
from engine.networks import (
    BackgroundDiscriminator,
    Encoders,
    FeatureDiscriminator,
    FeatureExtractor,
    Generator,
    ImageCodeCritics,
    InfoDiscriminator,
    init_weights,
)
from engine.networks.discriminators import patch_weight_map
from engine.train.config import TrainConfig
from engine.train.losses import (
    bce,
    gradient_penalty,
    mask_area_prior,
    masked_real_bce,
    soft_cross_entropy,
)

FACTORS = ("z", "b", "p", "c")


def _params(*modules: nn.Module) -> list[nn.Parameter]:
    return [p for m in modules for p in m.parameters()]


def _set_requires_grad(modules: Iterable[nn.Module], flag: bool) -> None:
    for m in modules:
        m.requires_grad_(flag)


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Data parallel: average the gradients over ranks (the DDP rule), with one all-reduce
    of all gradients flattened into one buffer (per dtype and device) instead of one per
    parameter. Parameters without a gradient are skipped (every rank runs the same graph)."""
    buckets: dict[tuple, list[torch.Tensor]] = {}
    for p in params:
        if p.grad is not None:
            buckets.setdefault((p.grad.dtype, p.grad.device), []).append(p.grad)
    world = dist.get_world_size()
    for grads in buckets.values():
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= world
        for grad, mean in zip(grads, _unflatten_dense_tensors(flat, grads)):
            grad.copy_(mean)


@contextlib.contextmanager
def frozen_bn_stats(module: nn.Module):
    """Batch statistics are used but running statistics are not updated (docs/method.md:
    Fixes to the released code)."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(bns, saved):
            m.momentum = momentum


class Trainer:
    """Owns every network and optimiser of a run; ``stage1_step``/``stage2_step`` update them."""

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        self.timings: dict[str, float] = {}  # seconds in backward + update, per optimiser
        self.ema_calibrated = False  # standing BN statistics computed (stage 2 onwards)
        m: ModelConfig = cfg.model
        self.generator = Generator(m)
        self.encoders = Encoders(m)
        self.bg_d = BackgroundDiscriminator(m)
        self.parent_d = InfoDiscriminator(m, m.num_parents, max(8, m.df_dim // 2), False)
        self.child_d = InfoDiscriminator(m, m.num_children, m.df_dim, True)
        # Option, not in the released method: an info classifier that reads b from B.
        self.background_info = (
            InfoDiscriminator(m, m.num_backgrounds, max(8, m.df_dim // 2), False)
            if cfg.background_info_weight > 0 else None
        )  # fmt: skip
        for net in (self.generator, self.encoders, self.bg_d, self.parent_d, self.child_d):
            net.apply(init_weights)
        if self.background_info is not None:
            self.background_info.apply(init_weights)
        self.critics = ImageCodeCritics(m)  # PyTorch default init, as released
        self.extractor = FeatureExtractor(m)
        self.extractor.apply(init_weights)
        self.feature_d = FeatureDiscriminator(m)
        self.feature_d.apply(init_weights)
        for net in self.networks().values():
            net.to(device)
        self.generator_ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.stage1_steps_done = 0  # decides the lazy gradient-penalty steps (gp_every)
        # What stage 1 calls: the networks themselves, or compiled wrappers sharing their
        # parameters (--compile; the critics stay eager: their penalty needs a double backward)
        self._generator, self._encoders, self._bg_d = self.generator, self.encoders, self.bg_d
        self._child_rf, self._child_cls = self.child_d.real_fake_logits, self.child_d.classify
        self._parent_cls = self.parent_d.classify
        if cfg.compile:
            self._generator, self._encoders, self._bg_d, self._child_rf, self._child_cls = (
                torch.compile(f)
                for f in (self.generator, self.encoders, self.bg_d, self._child_rf, self._child_cls)
            )
            self._parent_cls = torch.compile(self._parent_cls)

        def adam(params: list[nn.Parameter], lr: float = cfg.lr) -> torch.optim.Adam:
            # Fused kernel: about 3x faster updates on CPU than the per-parameter loop.
            return torch.optim.Adam(params, lr=lr, betas=cfg.betas, fused=True)

        child_trunk = _params(self.child_d.trunk, self.child_d.real_fake)
        self.optimizers = {
            "bg_d": adam(_params(self.bg_d)),
            "child_d": adam(child_trunk),
            "critics": adam(_params(self.critics)),
            "gen_enc": adam(
                _params(self.generator, self.encoders, self.parent_d, self.child_d.code_head)
                + (_params(self.background_info) if self.background_info is not None else [])
            ),
            "extractor": adam(_params(self.extractor)),
            "feature_d": adam(_params(self.feature_d), cfg.lr_feature_d),
        }
        self.autocast = (
            torch.autocast(device.type, dtype=torch.bfloat16)
            if cfg.precision == "bf16" else contextlib.nullcontext()
        )  # fmt: skip

    def networks(self) -> dict[str, nn.Module]:
        nets = {
            "generator": self.generator, "encoders": self.encoders, "bg_d": self.bg_d,
            "parent_d": self.parent_d, "child_d": self.child_d, "critics": self.critics,
            "extractor": self.extractor, "feature_d": self.feature_d,
        }  # fmt: skip
        if self.background_info is not None:
            nets["background_info"] = self.background_info
        return nets

    # -- helpers ------------------------------------------------------------------------------
    def _step(self, name: str, loss: torch.Tensor) -> None:
        start = time.perf_counter()
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if dist.is_available() and dist.is_initialized():
            average_gradients([p for g in opt.param_groups for p in g["params"]])
        opt.step()
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    @torch.no_grad()
    def update_ema(self) -> None:
        d = self.cfg.ema_decay
        for ema, live in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema.lerp_(live, 1 - d)
        for ema, live in zip(self.generator_ema.buffers(), self.generator.buffers()):
            if ema.dtype.is_floating_point:
                ema.lerp_(live, 1 - d)
            else:
                ema.copy_(live)

    @torch.no_grad()
    def recalibrate_ema(self, in_place: bool = False, batches: int = 16, seed: int = 0):
        """Standing BatchNorm statistics for the EMA generator.

        Averaging BN buffers alongside averaged weights leaves statistics that do not match
        the averaged weights (eval-mode images wash out on short runs); recomputing them with
        the EMA weights on tied codes fixes that. Uses its own RNG, so training randomness is
        untouched. Returns the recalibrated generator (a copy unless ``in_place``).
        """
        g = self.generator_ema if in_place else copy.deepcopy(self.generator_ema)
        bns = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        gen = torch.Generator(device=self.device).manual_seed(seed)
        g.train()
        for _ in range(batches):
            codes, _ = sample_tied(self.cfg.model, 64, self.device, generator=gen)
            g(codes.z, codes.b, codes.p, codes.c)
        for m in bns:
            m.momentum = 0.1
        return g.eval()

    # -- stage 1 ------------------------------------------------------------------------------
    def _parent_info_input(self, fake) -> torch.Tensor:
        """What the parent info classifier sees, (N, 3, S, S): the masked parent foreground
        (released), or with ``parent_info="mask"`` the parent mask alone in [-1, 1], so that
        p can be recovered only from the silhouette, not from colours (an option)."""
        if self.cfg.parent_info == "mask":
            return (fake.parent_mask * 2 - 1).expand(-1, 3, -1, -1)
        return fake.parent_fg * fake.parent_mask

    def stage1_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg, m, dev = self.cfg, self.cfg.model, self.device
        x = batch["image"].to(dev, non_blocking=True)  # (N, 3, S, S)
        x_bg = batch["background"].to(dev, non_blocking=True)  # (N, 3, S-2, S-2)
        weight = patch_weight_map(batch["box"].to(dev), m.bg_size)  # (N, 1, P, P)
        n = x.shape[0]
        codes, c_idx = sample_tied(m, n, dev)
        p_idx = codes.p.argmax(1)
        y = {"z": codes.z, "b": codes.b, "p": codes.p, "c": codes.c}
        ds = (self.bg_d, self.child_d, self.critics)
        self.generator.train(), self.encoders.train()
        with self.autocast:
            fake = self._generator(codes.z, codes.b, codes.p, codes.c)
            enc_real = soft_codes(self._encoders(x))

            # 1. background D: masked real patches, fake patches, aux background classifier
            _set_requires_grad(ds, True)
            real_rf, real_aux = self._bg_d(x_bg)
            fake_rf, _ = self._bg_d(fake.background_small.detach())
            loss_bg_d = cfg.bg_loss_weight * (
                masked_real_bce(real_rf.float(), weight) + bce(fake_rf.float(), 0.0)
            ) + bce(real_aux.float(), weight)
        self._step("bg_d", loss_bg_d)

        with self.autocast:  # 2. child D: real object crops vs final fake images
            loss_child_d = bce(self._child_rf(x).float(), 1.0) + bce(
                self._child_rf(fake.child.detach()).float(), 0.0
            )
        self._step("child_d", loss_child_d)

        # 3. image-code critics (kept in fp32: double backward). With gp_every = K > 1 the
        # penalty is lazy (StyleGAN2): computed on every K-th step only, weighted by K.
        real_codes = {k: v.detach().float() for k, v in enc_real.items()}
        fake_img = fake.child.detach().float()
        real_score = sum(self.critics[k](x, real_codes[k]).mean() for k in FACTORS)
        fake_score = sum(self.critics[k](fake_img, y[k]).mean() for k in FACTORS)
        loss_critics = fake_score - real_score
        gp = None
        if self.stage1_steps_done % cfg.gp_every == 0:
            gp = gradient_penalty(self.critics, x, real_codes, fake_img, y)
            loss_critics = loss_critics + cfg.gp_weight * cfg.gp_every * gp
        self._step("critics", loss_critics)

        # 4. joint generator + encoder step
        _set_requires_grad(ds, False)
        self.child_d.code_head.requires_grad_(True)
        untied, idx = sample_untied(m, n, dev)
        with torch.no_grad(), frozen_bn_stats(self.generator), self.autocast:
            untied_img = self._generator(untied.z, untied.b, untied.p, untied.c).child
        with self.autocast:
            info = F.cross_entropy(
                self._parent_cls(self._parent_info_input(fake)).float(), p_idx
            ) + F.cross_entropy(self._child_cls(fake.child_fg * fake.child_mask).float(), c_idx)
            if self.background_info is not None:  # option: b readable from B (N, 3, S, S)
                b_logits = self.background_info.classify(fake.background).float()
                b_info = F.cross_entropy(b_logits, codes.b.argmax(1))
                info = info + cfg.background_info_weight * b_info
            g_rf, g_aux = self._bg_d(fake.background_small)
            adv = cfg.bg_loss_weight * bce(g_rf.float(), 1.0) + bce(g_aux.float(), 1.0)
            adv = adv + bce(self._child_rf(fake.child).float(), 1.0)
            pred = self._encoders(untied_img.float())
            wz, wb, wp, wc = cfg.code_weights
            code_loss = (
                wz * F.l1_loss(pred["z"].float(), untied.z)
                + wb * soft_cross_entropy(pred["b"].float(), idx["b"])
                + wp * soft_cross_entropy(pred["p"].float(), idx["p"])
                + wc * soft_cross_entropy(pred["c"].float(), idx["c"])
            )
        bigan = sum(
            self.critics[k](x, enc_real[k].float()).mean()
            - self.critics[k](fake.child.float(), y[k]).mean()
            for k in FACTORS
        )
        loss_ge = info + adv + bigan + code_loss
        if cfg.mask_prior_weight > 0:
            lo, hi = cfg.mask_min_area, cfg.mask_max_area
            mask = cfg.mask_prior_weight * (
                mask_area_prior(fake.parent_mask, lo, hi) + mask_area_prior(fake.child_mask, lo, hi)
            )
            loss_ge = loss_ge + mask
        self._step("gen_enc", loss_ge)
        self.update_ema()
        self.stage1_steps_done += 1
        losses = {
            "d_bg": loss_bg_d.item(),
            "d_child": loss_child_d.item(),
            "critic": loss_critics.item(),
        }
        if gp is not None:  # every step by default; only on penalty steps with gp_every > 1
            losses["gp"] = gp.item()
        losses.update(
            info=info.item(), g_adv=adv.item(), bigan=bigan.item(), code=code_loss.item(),
            g_total=loss_ge.item(),
        )  # fmt: skip
        if cfg.mask_prior_weight > 0:
            losses["mask"] = mask.item()
        if self.background_info is not None:
            losses["b_info"] = b_info.item()
        return losses

    # -- stage 2 ------------------------------------------------------------------------------
    def _stage2_codes(self, n: int) -> Codes:
        m, dev = self.cfg.model, self.device
        codes, _ = sample_untied(m, n, dev)
        if torch.rand(()) < self.cfg.soft_parent_prob:  # whole batch gets a soft parent code
            codes.p = torch.randn(n, m.num_parents, device=dev).softmax(1)
        return codes

    def stage2_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x = batch["image"].to(self.device, non_blocking=True)
        if not self.ema_calibrated:  # stage 1 is over: the EMA generator is final
            self.recalibrate_ema(in_place=True)
            self.ema_calibrated = True
        g = self.generator_ema  # the exported generator, frozen
        codes = self._stage2_codes(x.shape[0])
        self.extractor.train()
        with torch.no_grad(), self.autocast:
            out = g(codes.z, codes.b, codes.p, codes.c)
        target, gen_img = out.features.float(), out.child.float()
        with self.autocast:
            self.feature_d.requires_grad_(True)
            ex_real = self.extractor(x)
            loss_fd = bce(self.feature_d(target).float(), 1.0) + bce(
                self.feature_d(ex_real.detach()).float(), 0.0
            )
        self._step("feature_d", loss_fd)
        self.feature_d.requires_grad_(False)
        with self.autocast:
            adv = bce(self.feature_d(ex_real).float(), 1.0)
            l1 = F.l1_loss(self.extractor(gen_img).float(), target)
        loss_ex = adv + l1
        self._step("extractor", loss_ex)
        return {"d_feature": loss_fd.item(), "ex_adv": adv.item(), "ex_l1": l1.item()}

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "nets": {k: v.state_dict() for k, v in self.networks().items()},
            "generator_ema": self.generator_ema.state_dict(),
            "ema_calibrated": self.ema_calibrated,
            "stage1_steps_done": self.stage1_steps_done,
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        for k, net in self.networks().items():
            net.load_state_dict(state["nets"][k])
        self.generator_ema.load_state_dict(state["generator_ema"])
        self.ema_calibrated = bool(state.get("ema_calibrated", False))
        self.stage1_steps_done = int(state.get("stage1_steps_done", 0))
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])

    def inference_networks(self) -> dict[str, nn.Module]:
        """What goes into the model file: EMA generator (standing BN statistics), encoders,
        extractor."""
        return {
            "generator": self.generator_ema if self.ema_calibrated else self.recalibrate_ema(),
            "encoders": self.encoders,
            "extractor": self.extractor,
        }
