//===- MoeBase.td - moe dialect definition, attributes -----*- tablegen -*-===//

#ifndef SMX_DIALECT_MOE_IR_MOEBASE_TD
#define SMX_DIALECT_MOE_IR_MOEBASE_TD

include "smx/Dialect/Smx/IR/SmxBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def Moe_Dialect : Dialect {
  let name = "moe";
  let cppNamespace = "::mlir::moe";
  let summary = "Mixture-of-experts routing, dispatch and expert computation";
  let description = [{
    The `moe` dialect holds the sparse feed-forward sublayer of a Sparse Mixer
    block. Tokens are flattened to `[T, d]`; a router scores every token for
    every expert; a routing policy fills, per group of tokens, `C` slots of
    every expert (`[G, E, C]` dispatch indices and combine weights, static
    shapes so the whole step keeps static shapes); the tokens are gathered
    into `[G, E, C, d]`, every expert's FFN runs batched over experts, and the
    results are scattered back, weighted, to `[T, d]`. Tokens an expert has no
    slot for are dropped: the residual connection carries them.

    Groups: `G = max(floor(T / group_size), 1)`, raised until it divides `T`;
    each group has `T / G` tokens. Capacity:
    `C = min(max(round_half_even(capacity_factor · (T/G) / E), 4), T/G)`.
  }];
  let dependentDialects = ["::mlir::smx::SmxDialect"];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

//===----------------------------------------------------------------------===//
// Routing policies
//===----------------------------------------------------------------------===//

def Moe_RoutingPolicyAttrInterface
    : AttrInterface<"RoutingPolicyAttrInterface"> {
  let cppNamespace = "::mlir::moe";
  let description = [{
    A routing policy: how `moe.route` fills the expert slots of a group from
    the router probabilities. The interface answers every question the
    compiler asks of a policy, so that the spec frontend, the verifiers, the
    training objective and the lowering never switch over policy kinds
    (docs/adding-a-routing-policy.md).
  }];
  let methods = [
    InterfaceMethod<[{
        The policy's name as specs, manifests and the IR spell it (the
        attribute's mnemonic, e.g. `experts_choose`).
      }], "::llvm::StringRef", "getPolicyName", (ins), [{}], [{
        return ConcreteAttr::getMnemonic();
      }]>,
    InterfaceMethod<[{
        The policy's code in the runtime's route kernel: an
        `smxrt_routing_policy_t` of the compiler-runtime contract
        (runtime/include/smx_runtime/model_abi.h).
      }], "smxrt_routing_policy_t", "getAbiCode">,
    InterfaceMethod<[{
        The most experts one token can be dispatched to, or `std::nullopt`
        when the policy sets no bound (experts choose freely).
      }], "std::optional<int64_t>", "getExpertsPerTokenLimit">,
    InterfaceMethod<[{
        True when slots are filled in order of each token's top-1
        probability (Batch Prioritized Routing) rather than by position.
      }], "bool", "isBatchPrioritized", (ins), [{}], [{
        return false;
      }]>,
    InterfaceMethod<[{
        True when the policy routes by token id rather than by probability,
        so `moe.route` needs the token ids.
      }], "bool", "routesByTokenId">,
    InterfaceMethod<[{
        True when training adds the load-balance loss for this policy.
      }], "bool", "usesLoadBalanceLoss">,
    InterfaceMethod<[{
        The entropy-regularized program the policy solves per group before
        it fills slots (capped_experts_choose's `lp` method), or
        `std::nullopt` for a greedy fill by probability. Such policies run
        on the runtime's solver kernel (smxrt_cpu_route_capped_lp).
      }], "std::optional<::mlir::moe::RoutingSolver>", "getSolver", (ins),
      [{}], [{
        return std::nullopt;
      }]>,
    InterfaceMethod<[{
        The slots per expert of a group of `tokensPerGroup` tokens over
        `numExperts` experts at `capacityFactor` (static: it sets the shape
        of `moe.route`'s results). By default the released code's rule
        `min(max(round_half_even(CF * T / E), 4), T)`.
      }], "int64_t", "computeExpertCapacity",
      (ins "int64_t":$tokensPerGroup, "int64_t":$numExperts,
           "double":$capacityFactor), [{}], [{
        return ::mlir::moe::computeDefaultExpertCapacity(
            tokensPerGroup, numExperts, capacityFactor);
      }]>,
    StaticInterfaceMethod<[{
        Builds the policy from the options of a spec's `moe.router`
        section; the spec frontend finds the policy by its mnemonic
        (`lookupRoutingPolicy`) and calls this.
      }], "::mlir::Attribute", "buildFromSpec",
      (ins "::mlir::MLIRContext *":$context,
           "const ::mlir::moe::RoutingPolicyOptions &":$options)>,
    StaticInterfaceMethod<[{
        The options of a spec's `moe.router` section this policy reads; the
        spec frontend rejects the others with the policy named.
      }], "::mlir::moe::RoutingPolicyOptionSet", "getSpecOptions">
  ];
}

class Moe_PolicyAttr<string name, string attrMnemonic>
    : AttrDef<Moe_Dialect, name, [Moe_RoutingPolicyAttrInterface]> {
  let mnemonic = attrMnemonic;
}

def Moe_ExpertsChooseAttr : Moe_PolicyAttr<"ExpertsChoose", "experts_choose"> {
  let summary = "Expert-choice routing";
  let description = [{
    Within a group, every expert takes its `C` most probable tokens (the
    top-`C` of the transposed probabilities). A token may be taken by any
    number of experts, or by none. No load-balance loss: every expert is full
    by construction. Combine weight: the router probability, not
    renormalized. This is Sparse Mixer's policy.
  }];
  let extraClassDeclaration = [{
    smxrt_routing_policy_t getAbiCode() const {
      return SMXRT_ROUTING_EXPERTS_CHOOSE;
    }
    std::optional<int64_t> getExpertsPerTokenLimit() const {
      return std::nullopt;
    }
    bool routesByTokenId() const { return false; }
    bool usesLoadBalanceLoss() const { return false; }
    static ::mlir::Attribute buildFromSpec(::mlir::MLIRContext *context,
                                           const RoutingPolicyOptions &) {
      return get(context);
    }
    static RoutingPolicyOptionSet getSpecOptions() { return {}; }
  }];
}

def Moe_TokensChooseAttr : Moe_PolicyAttr<"TokensChoose", "tokens_choose"> {
  let summary = "Top-k token-choice routing, optionally batch-prioritized";
  let description = [{
    Every token picks its `k` most probable experts. Slots are filled in
    priority order: all first choices before any second choice; with
    `batch_prioritized`, tokens within a choice rank are ordered by their
    top-1 probability (Batch Prioritized Routing), otherwise by position.
    Choices beyond an expert's capacity are dropped. Combine weight: the
    router probability, not renormalized for `k > 1`.

    Syntax: `#moe.tokens_choose<k = 2>`,
    `#moe.tokens_choose<k = 2, batch_prioritized>`.

    Constraints: `1 <= k`.
  }];
  let parameters = (ins "int64_t":$k, "bool":$batch_prioritized);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    smxrt_routing_policy_t getAbiCode() const {
      return SMXRT_ROUTING_TOKENS_CHOOSE;
    }
    std::optional<int64_t> getExpertsPerTokenLimit() const { return getK(); }
    bool isBatchPrioritized() const { return getBatchPrioritized(); }
    bool routesByTokenId() const { return false; }
    bool usesLoadBalanceLoss() const { return true; }
    static ::mlir::Attribute buildFromSpec(::mlir::MLIRContext *context,
                                           const RoutingPolicyOptions &options) {
      return get(context, options.k, options.batchPrioritized);
    }
    static RoutingPolicyOptionSet getSpecOptions() {
      return {/*k=*/true, /*batchPrioritized=*/true};
    }
  }];
}

def Moe_CappedExpertsChooseAttr
    : Moe_PolicyAttr<"CappedExpertsChoose", "capped_experts_choose"> {
  let summary = "Expert-choice routing with at most k experts per token";
  let description = [{
    As `#moe.experts_choose`, but a token is taken by at most `k` experts.
    Two methods fill the slots:

    - `greedy` (the default): slots are filled in order of decreasing
      probability, skipping a (token, expert) pair once the token has `k`
      experts. smx's own approximation: fast, and one pass.
    - `lp`: the Expert Choice paper's program (Zhou et al. 2022, section
      4.5, appendix C). The assignment `A` maximizes
      `sum(S·A) + entropy · H(A)` with `H(A) = -sum(A·log A - A)`, subject to
      each expert taking at most `C` tokens, each token at most `k` experts,
      and `0 <= A <= 1`. Its dual is solved by `iterations` rounds of scaling
      (block coordinate ascent, each step closed form; the entropy weight
      falls from 1 to `entropy` over the first half). Slots are then filled
      greedily in order of decreasing `A`.

    Syntax: `#moe.capped_experts_choose<k = 2>`,
    `#moe.capped_experts_choose<k = 2, lp>` (50 iterations, entropy 0.03),
    `#moe.capped_experts_choose<k = 2, lp, iterations = 20, entropy = 0.05>`.

    Constraints: `1 <= k`; for `lp`, `1 <= iterations` and `0 < entropy`.
  }];
  let parameters = (ins "int64_t":$k,
                        "::mlir::moe::CappedRoutingMethod":$method,
                        "int64_t":$iterations,
                        APFloatParameter<"entropy weight">:$entropy);
  let builders = [
    AttrBuilder<(ins "int64_t":$k), [{
      return $_get($_ctxt, k, ::mlir::moe::CappedRoutingMethod::Greedy,
                   ::mlir::moe::kDefaultLpIterations,
                   ::llvm::APFloat(::mlir::moe::kDefaultLpEntropy));
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    smxrt_routing_policy_t getAbiCode() const {
      return SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE;
    }
    std::optional<int64_t> getExpertsPerTokenLimit() const { return getK(); }
    bool routesByTokenId() const { return false; }
    bool usesLoadBalanceLoss() const { return false; }
    std::optional<::mlir::moe::RoutingSolver> getSolver() const {
      if (getMethod() != ::mlir::moe::CappedRoutingMethod::Lp)
        return std::nullopt;
      return ::mlir::moe::RoutingSolver{getIterations(),
                                        getEntropy().convertToDouble()};
    }
    static ::mlir::Attribute buildFromSpec(::mlir::MLIRContext *context,
                                           const RoutingPolicyOptions &options) {
      return get(context, options.k, options.cappedMethod,
                 options.lpIterations, ::llvm::APFloat(options.lpEntropy));
    }
    static RoutingPolicyOptionSet getSpecOptions() {
      return {/*k=*/true, /*batchPrioritized=*/false, /*cappedMethod=*/true};
    }
  }];
}

def Moe_HashAttr : Moe_PolicyAttr<"Hash", "hash"> {
  let summary = "Hash routing: token id modulo the number of experts";
  let description = [{
    Token `t` goes to expert `token_ids[t] mod E` (Hash Layers); slots are
    filled in token order and tokens beyond capacity are dropped. The combine
    weight is the router probability of that expert, so the router still
    scales the expert output and learns. smx's own addition.
  }];
  let extraClassDeclaration = [{
    smxrt_routing_policy_t getAbiCode() const { return SMXRT_ROUTING_HASH; }
    std::optional<int64_t> getExpertsPerTokenLimit() const { return 1; }
    bool routesByTokenId() const { return true; }
    bool usesLoadBalanceLoss() const { return false; }
    static ::mlir::Attribute buildFromSpec(::mlir::MLIRContext *context,
                                           const RoutingPolicyOptions &) {
      return get(context);
    }
    static RoutingPolicyOptionSet getSpecOptions() { return {}; }
  }];
}

class Moe_Op<string mnemonic, list<Trait> traits = []>
    : Op<Moe_Dialect, mnemonic, traits>;

#endif // SMX_DIALECT_MOE_IR_MOEBASE_TD
