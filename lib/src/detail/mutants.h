// Internal: the bug zoo. Each WEFT_MUTANT_<NAME> re-introduces, in weft's own
// code, a bug from the scenarios, so CI can prove that weft-hunt finds it.
// Mutants exist only in the simulator build (CMake adds the definition to the
// weft_sim target alone); any other build with one defined does not compile.
//
//   CHECK_THEN_INSERT             S3, T2   begin checks for the request id, then inserts
//   TASK_CHECK_THEN_CREATE        S4.b, L1 a claim skips the insert-if-absent verification
//   RELEASE_WITHOUT_OWNER_CHECK   L2       release frees the session whatever the token
//   EXPIRY_WITHOUT_FENCING_BUMP   L3, T9   a takeover keeps the expired holder's token
//   CLEANUP_IGNORES_PINS          S1.c, T8 recycling reuses a segment a reader pins
//   PUBLISH_BEFORE_PAYLOAD        S1.f, T4 commit publishes a turn whose bytes are still being written
//   VISIBLE_BEFORE_PREDECESSORS   T3, T7   exchange k shows before exchange k-1 finished
//   SLOT_REUSE_ABA                L8, L2   slot state words are not versioned
//   DEAD_HOLDERS_NEVER_REAPED     S1.g, T10 nobody reclaims what a killed process held
//   JOIN_CLEARS_A_LIVE_SLOT       S1.g, T10 a joiner clears a dead identity without moving the generation first
//   REACH_NOT_RAISED              S2, L1   scans read only a key's home slot, whatever its reach
//   READY_BEFORE_RESET            S1.c, T1 a segment opened ahead is ready before its records are emptied
#pragma once

#if !defined(WEFT_SEAM_SIM) &&                                                          \
    (defined(WEFT_MUTANT_CHECK_THEN_INSERT) || defined(WEFT_MUTANT_TASK_CHECK_THEN_CREATE) || \
     defined(WEFT_MUTANT_RELEASE_WITHOUT_OWNER_CHECK) ||                                \
     defined(WEFT_MUTANT_EXPIRY_WITHOUT_FENCING_BUMP) ||                                \
     defined(WEFT_MUTANT_CLEANUP_IGNORES_PINS) || defined(WEFT_MUTANT_PUBLISH_BEFORE_PAYLOAD) || \
     defined(WEFT_MUTANT_VISIBLE_BEFORE_PREDECESSORS) || defined(WEFT_MUTANT_SLOT_REUSE_ABA) || \
     defined(WEFT_MUTANT_DEAD_HOLDERS_NEVER_REAPED) || defined(WEFT_MUTANT_JOIN_CLEARS_A_LIVE_SLOT) || \
     defined(WEFT_MUTANT_REACH_NOT_RAISED) || defined(WEFT_MUTANT_READY_BEFORE_RESET))
#error "weft: mutants exist only in the simulator build (weft_sim)"
#endif
