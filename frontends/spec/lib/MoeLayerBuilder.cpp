//===- MoeLayerBuilder.cpp - A spec's mixture-of-experts layers -----------===//
//
// router (with jitter in training), route by the spec's policy, dispatch,
// the experts, combine, and the layer's auxiliary losses and statistics.
//
//===----------------------------------------------------------------------===//

#include "ModelBuilderImpl.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "smx/Dialect/Mix/IR/MixOps.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"
#include "llvm/ADT/Twine.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::spec;
using namespace mlir::smx::spec::detail;

Value ModelBuilder::mixtureOfExperts(int64_t layer, Value hidden) {
  const MoeSpec &moe = *spec.moe;
  std::string prefix = "layers." + std::to_string(layer) + ".moe";
  std::string statsPrefix = "moe." + std::to_string(layer) + ".";
  int64_t width = spec.modelWidth, experts = moe.numExperts;
  int64_t tokens = shape.batch * shape.sequence;
  Location loc = at(prefix);

  SmallVector<ReassociationIndices> flatten = {{0, 1}, {2}};
  Value flat = tensor::CollapseShapeOp::create(builder, loc, hidden, flatten);

  Value routerWeight = parameter(prefix + ".router.weight", {width, experts});
  Value routerBias = parameter(prefix + ".router.bias", {experts});
  // Jitter (training only) perturbs what the router sees, not what the
  // experts get.
  Value routerInput = flat;
  if (moe.router.jitter > 0.0)
    routerInput =
        moe::JitterOp::create(builder, at(prefix + ".router.jitter"), flat,
                              step, /*counter_offset=*/Value(),
                              builder.getF64FloatAttr(moe.router.jitter),
                              builder.getI64IntegerAttr(nextSeed()));
  auto router = moe::RouterOp::create(builder, at(prefix + ".router"),
                                      routerInput, routerWeight, routerBias);

  // The policy attribute from its mnemonic; the parser accepted only
  // registered policies and the options they read.
  MLIRContext *context = builder.getContext();
  const moe::RoutingPolicyInfo *policyInfo =
      moe::lookupRoutingPolicy(moe.router.policy);
  assert(policyInfo && "the spec parser accepts only registered policies");
  moe::RoutingPolicyOptions options;
  options.k = moe.router.k;
  options.batchPrioritized = moe.router.batchPrioritized;
  options.cappedMethod =
      *moe::symbolizeCappedRoutingMethod(moe.router.method);
  options.lpIterations = moe.router.iterations;
  options.lpEntropy = moe.router.entropy;
  auto policy = cast<moe::RoutingPolicyAttrInterface>(
      policyInfo->buildFromSpec(context, options));
  Value tokenIds;
  if (policy.routesByTokenId())
    tokenIds = tensor::CollapseShapeOp::create(
        builder, loc, inputIds, SmallVector<ReassociationIndices>{{0, 1}});
  auto route = moe::RouteOp::create(
      builder, at(prefix + ".route"), router.getProbs(), tokenIds, policy,
      builder.getF64FloatAttr(moe.trainCapacityFactor),
      builder.getI64IntegerAttr(moe.groupSize));
  route->setAttr(kLayerAttrName, builder.getI64IntegerAttr(layer));
  Value slots =
      moe::DispatchOp::create(builder, loc, flat, route.getDispatchIndices());
  std::string expertPath = prefix + ".experts";
  int64_t inner = spec.feedForwardWidth;
  Value inWeight =
      parameter(expertPath + ".input.weight", {experts, width, inner});
  Value inBias = parameter(expertPath + ".input.bias", {experts, inner});
  Value outWeight =
      parameter(expertPath + ".output.weight", {experts, inner, width});
  Value outBias = parameter(expertPath + ".output.bias", {experts, width});
  // Expert dropout: on the experts' activations, in training only.
  bool hasExpertDropout = moe.expertDropout > 0.0;
  Value expertOutputs = moe::ExpertFFNOp::create(
      builder, at(expertPath), slots.getType(), slots, inWeight, inBias,
      outWeight, outBias, hasExpertDropout ? step : Value(),
      /*counter_offset=*/Value(), ActivationAttr::get(context, spec.activation),
      builder.getF64FloatAttr(moe.expertDropout),
      builder.getI64IntegerAttr(hasExpertDropout ? nextSeed() : 0),
      /*counter_experts=*/IntegerAttr());
  Value combined = moe::CombineOp::create(
      builder, loc, flat.getType(), expertOutputs, route.getDispatchIndices(),
      route.getCombineWeights());
  Value unflattened = tensor::ExpandShapeOp::create(
      builder, loc, hidden.getType(), combined, flatten);

  auto load = moe::ExpertLoadOp::create(
      builder, loc, route.getDispatchIndices(), router.getProbs());
  Value zLoss = moe::RouterZLossOp::create(builder, loc, router.getLogits());
  Value balanceLoss;
  if (policy.usesLoadBalanceLoss()) {
    int64_t groups = moe::RouteOp::computeGroupCount(tokens, moe.groupSize);
    balanceLoss = moe::LoadBalanceLossOp::create(
        builder, loc, router.getProbs(),
        policy.getExpertsPerTokenLimit().value_or(1), groups);
  }

  // The routing decisions (`analyze --routing` reads them). In a training
  // objective they are plain results of the forward function, which the
  // train step does not return.
  addOutput(statsPrefix + "dispatch_indices", route.getDispatchIndices());
  addOutput(statsPrefix + "combine_weights", route.getCombineWeights());
  if (task != ModelTask::Inference) {
    // ST-MoE: total = cross-entropy + factors x auxiliary losses, each
    // summed over the MoE layers (one term per layer).
    addMetric(statsPrefix + "tokens_per_expert", load.getTokensPerExpert());
    addMetric(statsPrefix + "dropped_fraction", load.getDroppedFraction());
    addLoss(statsPrefix + "router_z_loss", zLoss, moe.zLossFactor);
    if (balanceLoss)
      addLoss(statsPrefix + "load_balance_loss", balanceLoss,
              moe.loadBalanceLossFactor);
    return unflattened;
  }
  addOutput(statsPrefix + "tokens_per_expert", load.getTokensPerExpert());
  addOutput(statsPrefix + "dropped_fraction", load.getDroppedFraction());
  addOutput(statsPrefix + "router_z_loss", zLoss);
  if (balanceLoss)
    addOutput(statsPrefix + "load_balance_loss", balanceLoss);
  return unflattened;
}
