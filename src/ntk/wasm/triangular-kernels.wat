;; The O(N²) loops of tangent's sliding-window Cholesky factor (see
;; ../incremental-cholesky.ts and ../triangular-kernels.ts), in WebAssembly
;; with 128-bit SIMD: two float64 lanes per instruction.
;;
;; Every argument is a count or a byte address in the imported memory. The
;; factor L is column-major with a column stride of `stride` float64s: entry
;; (i, j), i ≥ j, is at factor + 8·(j·stride + i).
;;
;; The elementwise kernels (forwardSubstitute, evictOldest, replaceOldest)
;; perform exactly the TypeScript fallback's floating-point operations in the
;; same order for every element, so both give bit-identical factors; only the
;; dot products (backwardSubstitute, multiply) sum in a different order.
;;
;; Build: npm run build:wasm (scripts/build-wasm.ts, wabt's wat2wasm).
(module
  (import "env" "memory" (memory 1))

  ;; b ← L⁻¹b by forward substitution, column by column: b[i] -= L[i][j]·b[j].
  ;; Two columns per pass over the rows, so each b[i] is loaded and stored
  ;; once per two columns; per element the same operations in the same order.
  (func (export "forwardSubstitute") (param $n i32) (param $stride i32) (param $factor i32) (param $b i32)
    (local $j i32) (local $column0 i32) (local $column1 i32) (local $off i32) (local $end i32)
    (local $solved0 f64) (local $solved1 f64) (local $v0 v128) (local $v1 v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $pairsOfColumnsDone
      (loop $pairsOfColumns
        (br_if $pairsOfColumnsDone (i32.ge_u (i32.add (local.get $j) (i32.const 1)) (local.get $n)))
        (local.set $column0 (i32.add (local.get $factor) (i32.shl (i32.mul (local.get $j) (local.get $stride)) (i32.const 3))))
        (local.set $column1 (i32.add (local.get $column0) (i32.shl (local.get $stride) (i32.const 3))))
        (local.set $off (i32.shl (local.get $j) (i32.const 3)))
        (local.set $solved0
          (f64.div (f64.load (i32.add (local.get $b) (local.get $off))) (f64.load (i32.add (local.get $column0) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved0))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (local.set $solved1
          (f64.div
            (f64.sub (f64.load (i32.add (local.get $b) (local.get $off)))
              (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0)))
            (f64.load (i32.add (local.get $column1) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved1))
        (local.set $v0 (f64x2.splat (local.get $solved0)))
        (local.set $v1 (f64x2.splat (local.get $solved1)))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (v128.store (i32.add (local.get $b) (local.get $off))
              (f64x2.sub
                (f64x2.sub
                  (v128.load (i32.add (local.get $b) (local.get $off)))
                  (f64x2.mul (v128.load (i32.add (local.get $column0) (local.get $off))) (local.get $v0)))
                (f64x2.mul (v128.load (i32.add (local.get $column1) (local.get $off))) (local.get $v1))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $rows)))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (f64.store (i32.add (local.get $b) (local.get $off))
              (f64.sub
                (f64.sub
                  (f64.load (i32.add (local.get $b) (local.get $off)))
                  (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0)))
                (f64.mul (f64.load (i32.add (local.get $column1) (local.get $off))) (local.get $solved1))))))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $pairsOfColumns)))
    ;; An odd last column: only its diagonal remains.
    (if (i32.lt_u (local.get $j) (local.get $n))
      (then
        (local.set $off (i32.shl (local.get $j) (i32.const 3)))
        (local.set $column0 (i32.add (local.get $factor) (i32.shl (i32.mul (local.get $j) (local.get $stride)) (i32.const 3))))
        (f64.store (i32.add (local.get $b) (local.get $off))
          (f64.div (f64.load (i32.add (local.get $b) (local.get $off))) (f64.load (i32.add (local.get $column0) (local.get $off))))))))

  ;; y ← L⁻ᵀy by backward substitution: y[i] = (y[i] − Σ_{j>i} L[j][i]·y[j]) / L[i][i], a dot product down column i.
  (func (export "backwardSubstitute") (param $n i32) (param $stride i32) (param $factor i32) (param $y i32)
    (local $i i32) (local $column i32) (local $off i32) (local $end i32) (local $sum v128) (local $dot f64) (local $diagonal i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $i (local.get $n))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (local.set $column (i32.add (local.get $factor) (i32.shl (i32.mul (local.get $i) (local.get $stride)) (i32.const 3))))
        (local.set $diagonal (i32.shl (local.get $i) (i32.const 3)))
        (local.set $off (i32.add (local.get $diagonal) (i32.const 8)))
        (local.set $sum (v128.const f64x2 0 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (local.set $sum
              (f64x2.add (local.get $sum)
                (f64x2.mul (v128.load (i32.add (local.get $column) (local.get $off))) (v128.load (i32.add (local.get $y) (local.get $off))))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $pairs)))
        (local.set $dot (f64.add (f64x2.extract_lane 0 (local.get $sum)) (f64x2.extract_lane 1 (local.get $sum))))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (local.set $dot
              (f64.add (local.get $dot)
                (f64.mul (f64.load (i32.add (local.get $column) (local.get $off))) (f64.load (i32.add (local.get $y) (local.get $off))))))))
        (f64.store (i32.add (local.get $y) (local.get $diagonal))
          (f64.div
            (f64.sub (f64.load (i32.add (local.get $y) (local.get $diagonal))) (local.get $dot))
            (f64.load (i32.add (local.get $column) (local.get $diagonal)))))
        (br $rows))))

  ;; The eviction sweep of IncrementalCholesky.evictOldest / replaceOldest:
  ;; Givens rotations fold update (= old column 0 below its head, shifted up
  ;; one row) into the trailing block, which is written one column and one
  ;; row up-left. With $solve ≠ 0, also forward-substitutes l against each
  ;; new column as soon as it is written (the fused slide). Starts at column
  ;; $k with the update vector scaled by 1 / $scale: as in the TypeScript
  ;; sweep, x̂ = x / γ (γ the product of the cosines so far), so a rotation
  ;; costs three multiplications per entry: L' = c·L + (s·γ)·x̂,
  ;; x̂' = x̂ − (s / (c·γ))·L.
  (func $sweepFrom (param $n i32) (param $stride i32) (param $factor i32) (param $update i32) (param $l i32) (param $solve i32) (param $k i32) (param $scale f64)
    (local $remaining i32) (local $source i32) (local $target i32) (local $off i32) (local $end i32)
    (local $pivot f64) (local $incoming f64) (local $radius f64) (local $cosine f64) (local $carriedWeight f64) (local $oldWeight f64) (local $solved f64)
    (local $cosines v128) (local $carriedWeights v128) (local $oldWeights v128) (local $solvedv v128) (local $old v128) (local $carried v128) (local $updated v128)
    (local $oldOne f64) (local $carriedOne f64) (local $updatedOne f64)
    (local.set $remaining (i32.sub (local.get $n) (i32.const 1)))
    (local.set $end (i32.shl (local.get $remaining) (i32.const 3)))
    (block $columnsDone
      (loop $columns
        (br_if $columnsDone (i32.ge_u (local.get $k) (local.get $remaining)))
        ;; New column k is old column k + 1 shifted up one row.
        (local.set $source
          (i32.add (local.get $factor)
            (i32.shl (i32.add (i32.mul (i32.add (local.get $k) (i32.const 1)) (local.get $stride)) (i32.const 1)) (i32.const 3))))
        (local.set $target (i32.add (local.get $factor) (i32.shl (i32.mul (local.get $k) (local.get $stride)) (i32.const 3))))
        (local.set $off (i32.shl (local.get $k) (i32.const 3)))
        (local.set $pivot (f64.load (i32.add (local.get $source) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (f64.load (i32.add (local.get $update) (local.get $off)))))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine)))
        (f64.store (i32.add (local.get $target) (local.get $off)) (local.get $radius))
        (local.set $cosines (f64x2.splat (local.get $cosine)))
        (local.set $carriedWeights (f64x2.splat (local.get $carriedWeight)))
        (local.set $oldWeights (f64x2.splat (local.get $oldWeight)))
        (if (local.get $solve)
          (then
            (local.set $solved (f64.div (f64.load (i32.add (local.get $l) (local.get $off))) (local.get $radius)))
            (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved))
            (local.set $solvedv (f64x2.splat (local.get $solved)))))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (if (local.get $solve)
          (then
            (block $pairsDone
              (loop $pairs
                (br_if $pairsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
                (local.set $old (v128.load (i32.add (local.get $source) (local.get $off))))
                (local.set $carried (v128.load (i32.add (local.get $update) (local.get $off))))
                (local.set $updated
                  (f64x2.add (f64x2.mul (local.get $cosines) (local.get $old)) (f64x2.mul (local.get $carriedWeights) (local.get $carried))))
                (v128.store (i32.add (local.get $target) (local.get $off)) (local.get $updated))
                (v128.store (i32.add (local.get $update) (local.get $off))
                  (f64x2.sub (local.get $carried) (f64x2.mul (local.get $oldWeights) (local.get $old))))
                (v128.store (i32.add (local.get $l) (local.get $off))
                  (f64x2.sub (v128.load (i32.add (local.get $l) (local.get $off))) (f64x2.mul (local.get $updated) (local.get $solvedv))))
                (local.set $off (i32.add (local.get $off) (i32.const 16)))
                (br $pairs))))
          (else
            (block $pairsDone
              (loop $pairs
                (br_if $pairsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
                (local.set $old (v128.load (i32.add (local.get $source) (local.get $off))))
                (local.set $carried (v128.load (i32.add (local.get $update) (local.get $off))))
                (v128.store (i32.add (local.get $target) (local.get $off))
                  (f64x2.add (f64x2.mul (local.get $cosines) (local.get $old)) (f64x2.mul (local.get $carriedWeights) (local.get $carried))))
                (v128.store (i32.add (local.get $update) (local.get $off))
                  (f64x2.sub (local.get $carried) (f64x2.mul (local.get $oldWeights) (local.get $old))))
                (local.set $off (i32.add (local.get $off) (i32.const 16)))
                (br $pairs)))))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (local.set $oldOne (f64.load (i32.add (local.get $source) (local.get $off))))
            (local.set $carriedOne (f64.load (i32.add (local.get $update) (local.get $off))))
            (local.set $updatedOne
              (f64.add (f64.mul (local.get $cosine) (local.get $oldOne)) (f64.mul (local.get $carriedWeight) (local.get $carriedOne))))
            (f64.store (i32.add (local.get $target) (local.get $off)) (local.get $updatedOne))
            (f64.store (i32.add (local.get $update) (local.get $off))
              (f64.sub (local.get $carriedOne) (f64.mul (local.get $oldWeight) (local.get $oldOne))))
            (if (local.get $solve)
              (then
                (f64.store (i32.add (local.get $l) (local.get $off))
                  (f64.sub (f64.load (i32.add (local.get $l) (local.get $off))) (f64.mul (local.get $updatedOne) (local.get $solved))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $columns))))

  (func (export "evictOldest") (param $n i32) (param $stride i32) (param $factor i32) (param $update i32)
    (call $sweepFrom (local.get $n) (local.get $stride) (local.get $factor) (local.get $update) (i32.const 0) (i32.const 0) (i32.const 0) (f64.const 1)))

  ;; The fused slide, two sweep steps per pass over the rows: steps k and
  ;; k + 1 are applied to each row while its update and l entries stay in
  ;; registers, which halves their loads and stores. Per element the same
  ;; operations in the same order as one step at a time, so the result is
  ;; bit-identical to $sweepFrom.
  (func (export "replaceOldest") (param $n i32) (param $stride i32) (param $factor i32) (param $update i32) (param $l i32)
    (local $remaining i32) (local $k i32) (local $off i32) (local $end i32) (local $strideBytes i32)
    (local $source0 i32) (local $target0 i32) (local $source1 i32) (local $target1 i32)
    (local $scale f64) (local $pivot f64) (local $incoming f64) (local $radius f64)
    (local $cosine0 f64) (local $carriedWeight0 f64) (local $oldWeight0 f64) (local $solved0 f64)
    (local $cosine1 f64) (local $carriedWeight1 f64) (local $oldWeight1 f64) (local $solved1 f64)
    (local $old f64) (local $carried f64) (local $updated f64)
    (local $c0 v128) (local $b0 v128) (local $a0 v128) (local $v0 v128) (local $c1 v128) (local $b1 v128) (local $a1 v128) (local $v1 v128)
    (local $oldv v128) (local $carriedv v128) (local $updatedv v128) (local $lv v128)
    (local.set $remaining (i32.sub (local.get $n) (i32.const 1)))
    (local.set $end (i32.shl (local.get $remaining) (i32.const 3)))
    (local.set $strideBytes (i32.shl (local.get $stride) (i32.const 3)))
    (local.set $scale (f64.const 1))
    (block $pairsOfColumnsDone
      (loop $pairsOfColumns
        (br_if $pairsOfColumnsDone (i32.ge_u (i32.add (local.get $k) (i32.const 1)) (local.get $remaining)))
        (local.set $target0 (i32.add (local.get $factor) (i32.mul (local.get $k) (local.get $strideBytes))))
        (local.set $target1 (i32.add (local.get $target0) (local.get $strideBytes)))
        (local.set $source0 (i32.add (local.get $target1) (i32.const 8)))
        (local.set $source1 (i32.add (i32.add (local.get $target1) (local.get $strideBytes)) (i32.const 8)))
        ;; Step k at its head row k.
        (local.set $off (i32.shl (local.get $k) (i32.const 3)))
        (local.set $pivot (f64.load (i32.add (local.get $source0) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (f64.load (i32.add (local.get $update) (local.get $off)))))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine0 (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight0 (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight0 (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine0)))
        (f64.store (i32.add (local.get $target0) (local.get $off)) (local.get $radius))
        (local.set $solved0 (f64.div (f64.load (i32.add (local.get $l) (local.get $off))) (local.get $radius)))
        (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved0))
        ;; Step k at row k + 1, which step k + 1 needs for its head.
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (local.set $old (f64.load (i32.add (local.get $source0) (local.get $off))))
        (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine0) (local.get $old)) (f64.mul (local.get $carriedWeight0) (local.get $carried))))
        (f64.store (i32.add (local.get $target0) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight0) (local.get $old))))
        (f64.store (i32.add (local.get $update) (local.get $off)) (local.get $carried))
        (f64.store (i32.add (local.get $l) (local.get $off))
          (f64.sub (f64.load (i32.add (local.get $l) (local.get $off))) (f64.mul (local.get $updated) (local.get $solved0))))
        ;; Step k + 1 at its head row k + 1.
        (local.set $pivot (f64.load (i32.add (local.get $source1) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (local.get $carried)))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine1 (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight1 (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight1 (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine1)))
        (f64.store (i32.add (local.get $target1) (local.get $off)) (local.get $radius))
        (local.set $solved1 (f64.div (f64.load (i32.add (local.get $l) (local.get $off))) (local.get $radius)))
        (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved1))
        (local.set $c0 (f64x2.splat (local.get $cosine0)))
        (local.set $b0 (f64x2.splat (local.get $carriedWeight0)))
        (local.set $a0 (f64x2.splat (local.get $oldWeight0)))
        (local.set $v0 (f64x2.splat (local.get $solved0)))
        (local.set $c1 (f64x2.splat (local.get $cosine1)))
        (local.set $b1 (f64x2.splat (local.get $carriedWeight1)))
        (local.set $a1 (f64x2.splat (local.get $oldWeight1)))
        (local.set $v1 (f64x2.splat (local.get $solved1)))
        ;; Both steps on rows k + 2 .., two rows per iteration.
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (local.set $carriedv (v128.load (i32.add (local.get $update) (local.get $off))))
            (local.set $lv (v128.load (i32.add (local.get $l) (local.get $off))))
            (local.set $oldv (v128.load (i32.add (local.get $source0) (local.get $off))))
            (local.set $updatedv (f64x2.add (f64x2.mul (local.get $c0) (local.get $oldv)) (f64x2.mul (local.get $b0) (local.get $carriedv))))
            (v128.store (i32.add (local.get $target0) (local.get $off)) (local.get $updatedv))
            (local.set $carriedv (f64x2.sub (local.get $carriedv) (f64x2.mul (local.get $a0) (local.get $oldv))))
            (local.set $lv (f64x2.sub (local.get $lv) (f64x2.mul (local.get $updatedv) (local.get $v0))))
            (local.set $oldv (v128.load (i32.add (local.get $source1) (local.get $off))))
            (local.set $updatedv (f64x2.add (f64x2.mul (local.get $c1) (local.get $oldv)) (f64x2.mul (local.get $b1) (local.get $carriedv))))
            (v128.store (i32.add (local.get $target1) (local.get $off)) (local.get $updatedv))
            (v128.store (i32.add (local.get $update) (local.get $off))
              (f64x2.sub (local.get $carriedv) (f64x2.mul (local.get $a1) (local.get $oldv))))
            (v128.store (i32.add (local.get $l) (local.get $off)) (f64x2.sub (local.get $lv) (f64x2.mul (local.get $updatedv) (local.get $v1))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $rows)))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
            (local.set $old (f64.load (i32.add (local.get $source0) (local.get $off))))
            (local.set $updated (f64.add (f64.mul (local.get $cosine0) (local.get $old)) (f64.mul (local.get $carriedWeight0) (local.get $carried))))
            (f64.store (i32.add (local.get $target0) (local.get $off)) (local.get $updated))
            (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight0) (local.get $old))))
            (f64.store (i32.add (local.get $l) (local.get $off))
              (f64.sub (f64.load (i32.add (local.get $l) (local.get $off))) (f64.mul (local.get $updated) (local.get $solved0))))
            (local.set $old (f64.load (i32.add (local.get $source1) (local.get $off))))
            (local.set $updated (f64.add (f64.mul (local.get $cosine1) (local.get $old)) (f64.mul (local.get $carriedWeight1) (local.get $carried))))
            (f64.store (i32.add (local.get $target1) (local.get $off)) (local.get $updated))
            (f64.store (i32.add (local.get $update) (local.get $off))
              (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight1) (local.get $old))))
            (f64.store (i32.add (local.get $l) (local.get $off))
              (f64.sub (f64.load (i32.add (local.get $l) (local.get $off))) (f64.mul (local.get $updated) (local.get $solved1))))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairsOfColumns)))
    ;; An odd last column on its own.
    (if (i32.lt_u (local.get $k) (local.get $remaining))
      (then
        (call $sweepFrom (local.get $n) (local.get $stride) (local.get $factor) (local.get $update) (local.get $l) (i32.const 1) (local.get $k)
          (local.get $scale)))))

    ;; out ← L(Lᵀv), using transposed as scratch for Lᵀv (all three distinct).
  (func (export "multiply") (param $n i32) (param $stride i32) (param $factor i32) (param $v i32) (param $out i32) (param $transposed i32)
    (local $j i32) (local $column i32) (local $off i32) (local $end i32) (local $sum v128) (local $dot f64) (local $weight v128) (local $weightOne f64)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $column (i32.add (local.get $factor) (i32.shl (i32.mul (local.get $j) (local.get $stride)) (i32.const 3))))
        (local.set $off (i32.shl (local.get $j) (i32.const 3)))
        (local.set $sum (v128.const f64x2 0 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (local.set $sum
              (f64x2.add (local.get $sum)
                (f64x2.mul (v128.load (i32.add (local.get $column) (local.get $off))) (v128.load (i32.add (local.get $v) (local.get $off))))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $pairs)))
        (local.set $dot (f64.add (f64x2.extract_lane 0 (local.get $sum)) (f64x2.extract_lane 1 (local.get $sum))))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (local.set $dot
              (f64.add (local.get $dot)
                (f64.mul (f64.load (i32.add (local.get $column) (local.get $off))) (f64.load (i32.add (local.get $v) (local.get $off))))))))
        (f64.store (i32.add (local.get $transposed) (i32.shl (local.get $j) (i32.const 3))) (local.get $dot))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $end))
    (local.set $j (i32.const 0))
    (block $done2
      (loop $columns2
        (br_if $done2 (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $column (i32.add (local.get $factor) (i32.shl (i32.mul (local.get $j) (local.get $stride)) (i32.const 3))))
        (local.set $off (i32.shl (local.get $j) (i32.const 3)))
        (local.set $weightOne (f64.load (i32.add (local.get $transposed) (local.get $off))))
        (local.set $weight (f64x2.splat (local.get $weightOne)))
        (block $pairsDone2
          (loop $pairs2
            (br_if $pairsDone2 (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (v128.store (i32.add (local.get $out) (local.get $off))
              (f64x2.add (v128.load (i32.add (local.get $out) (local.get $off)))
                (f64x2.mul (v128.load (i32.add (local.get $column) (local.get $off))) (local.get $weight))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $pairs2)))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (f64.store (i32.add (local.get $out) (local.get $off))
              (f64.add (f64.load (i32.add (local.get $out) (local.get $off)))
                (f64.mul (f64.load (i32.add (local.get $column) (local.get $off))) (local.get $weightOne))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns2))))
)
