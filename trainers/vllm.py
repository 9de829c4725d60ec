"""Multi-turn generation through TRL's vLLM backend (``use_vllm: true``, colocate or server mode).

TRL syncs the training weights into vLLM before it calls the ``rollout_func``; each turn is
then one ``trainer.vllm_generation.generate`` call on token ids (no re-tokenization), with the
sampled token's logprob kept per position. ARPO's entropies come from one forward pass of the
training model over the generated tokens (vLLM returns only top-k logprobs).

    rollout = AgentRollout("tools/python", max_turns=6)      # picks VLLMSampler when trainer.use_vllm
    gen = VLLMSampler(trainer.vllm_generation, tokenizer, max_new_tokens=96, model=trainer.model)
    gens = gen.generate([prompt_ids], max_new_tokens=64)

Sampling settings are TRL's own (``temperature``, ``top_p``, ``top_k``, ``min_p``,
``repetition_penalty``, ``generation_kwargs`` from the GRPO config, passed to vLLM explicitly).
Each episode's turn is cut to its own remaining room by ``generate_turn`` afterwards, and a turn
cut by it is not executed, exactly as with the transformers generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgym.tokens import Generation


def _first_logprob(position: Any) -> float:
    """TRL returns ``num_logprobs`` values per position, the sampled token's first."""
    if isinstance(position, (list, tuple)):
        return float(position[0]) if position and position[0] is not None else 0.0
    return float(position)


@dataclass
class VLLMSampler:
    """Same interface as :class:`~agentgym.trainers.episodes.Sampler`, backed by ``trainer.vllm_generation``."""

    vllm: Any
    tokenizer: Any
    max_new_tokens: int = 64
    model: Any = None          # the training model: only needed for entropies (ARPO)
    temperature: float = 1.0   # entropies are those of the sampling distribution

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None,
                 entropies: bool = False) -> list[Generation]:
        budget = max_new_tokens or self.max_new_tokens
        saved = getattr(self.vllm, "max_completion_length", None)
        self.vllm.max_completion_length = budget  # TRL reads the per-call budget from here
        try:
            _, completion_ids, logprobs, _ = self.vllm.generate(prompts=prompts, images=None, num_generations=1)
        finally:
            self.vllm.max_completion_length = saved
        eos = self.tokenizer.eos_token_id
        out = []
        for ids, lps in zip(completion_ids, logprobs):
            ids = list(ids)
            n = ids.index(eos) + 1 if eos in ids else len(ids)
            ids = ids[:n]
            out.append(Generation(ids=ids, logprobs=[_first_logprob(p) for p in lps[:n]],
                                  text=self.tokenizer.decode(ids, skip_special_tokens=False)))
        if entropies:
            self._add_entropies(prompts, out)
        return out

    def _add_entropies(self, prompts: list[list[int]], gens: list[Generation]) -> None:
        if self.model is None:
            raise ValueError("entropies with vLLM need the training model: VLLMSampler(..., model=trainer.model)")
        import torch

        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        try:
            with torch.no_grad():
                for prompt, gen in zip(prompts, gens):
                    if not gen.ids:
                        continue
                    ids = torch.tensor([list(prompt) + gen.ids], device=device)
                    logits = self.model(input_ids=ids).logits[0, len(prompt) - 1: -1].float()
                    if self.temperature > 0 and self.temperature != 1.0:
                        logits = logits / self.temperature
                    logp = torch.log_softmax(logits, dim=-1)
                    gen.entropies = (-(logp.exp() * logp).sum(-1)).tolist()
        finally:
            if was_training:
                self.model.train()


VLLMGenerator = VLLMSampler  # deprecated name


__all__ = ["VLLMSampler", "VLLMGenerator"]
