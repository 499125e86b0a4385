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
  ;; 4 columns per pass over the rows, so each b[i] is loaded and stored once
  ;; per 4 columns; per element the same operations in the same order. The
  ;; last n mod 4 columns one at a time.
  (func (export "forwardSubstitute") (param $n i32) (param $stride i32) (param $factor i32) (param $b i32)
    (local $j i32) (local $off i32) (local $end i32) (local $strideBytes i32) (local $address i32) (local $entry f64)
    (local $column0 i32) (local $column1 i32) (local $column2 i32) (local $column3 i32)
    (local $solved0 f64) (local $solved1 f64) (local $solved2 f64) (local $solved3 f64)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $sum v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $strideBytes (i32.shl (local.get $stride) (i32.const 3)))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
        (local.set $column0 (i32.add (local.get $factor) (i32.mul (local.get $j) (local.get $strideBytes))))
        (local.set $column1 (i32.add (local.get $column0) (local.get $strideBytes)))
        (local.set $column2 (i32.add (local.get $column1) (local.get $strideBytes)))
        (local.set $column3 (i32.add (local.get $column2) (local.get $strideBytes)))
        ;; Row j + 0: its own column.
        (local.set $off (i32.shl (i32.add (local.get $j) (i32.const 0)) (i32.const 3)))
        (local.set $entry (f64.load (i32.add (local.get $b) (local.get $off))))
        (local.set $solved0 (f64.div (local.get $entry) (f64.load (i32.add (local.get $column0) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved0))
        ;; Row j + 1: column j on it, then its own.
        (local.set $off (i32.shl (i32.add (local.get $j) (i32.const 1)) (i32.const 3)))
        (local.set $entry (f64.load (i32.add (local.get $b) (local.get $off))))
        (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0))))
        (local.set $solved1 (f64.div (local.get $entry) (f64.load (i32.add (local.get $column1) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved1))
        ;; Row j + 2: columns j .. j + 1 on it, then its own.
        (local.set $off (i32.shl (i32.add (local.get $j) (i32.const 2)) (i32.const 3)))
        (local.set $entry (f64.load (i32.add (local.get $b) (local.get $off))))
        (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0))))
        (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column1) (local.get $off))) (local.get $solved1))))
        (local.set $solved2 (f64.div (local.get $entry) (f64.load (i32.add (local.get $column2) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved2))
        ;; Row j + 3: columns j .. j + 2 on it, then its own.
        (local.set $off (i32.shl (i32.add (local.get $j) (i32.const 3)) (i32.const 3)))
        (local.set $entry (f64.load (i32.add (local.get $b) (local.get $off))))
        (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0))))
        (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column1) (local.get $off))) (local.get $solved1))))
        (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column2) (local.get $off))) (local.get $solved2))))
        (local.set $solved3 (f64.div (local.get $entry) (f64.load (i32.add (local.get $column3) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved3))
        (local.set $v0 (f64x2.splat (local.get $solved0)))
        (local.set $v1 (f64x2.splat (local.get $solved1)))
        (local.set $v2 (f64x2.splat (local.get $solved2)))
        (local.set $v3 (f64x2.splat (local.get $solved3)))
        (local.set $off (i32.shl (i32.add (local.get $j) (i32.const 4)) (i32.const 3)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (local.set $address (i32.add (local.get $b) (local.get $off)))
            (local.set $sum (v128.load (local.get $address)))
            (local.set $sum (f64x2.sub (local.get $sum) (f64x2.mul (v128.load (i32.add (local.get $column0) (local.get $off))) (local.get $v0))))
            (local.set $sum (f64x2.sub (local.get $sum) (f64x2.mul (v128.load (i32.add (local.get $column1) (local.get $off))) (local.get $v1))))
            (local.set $sum (f64x2.sub (local.get $sum) (f64x2.mul (v128.load (i32.add (local.get $column2) (local.get $off))) (local.get $v2))))
            (local.set $sum (f64x2.sub (local.get $sum) (f64x2.mul (v128.load (i32.add (local.get $column3) (local.get $off))) (local.get $v3))))
            (v128.store (local.get $address) (local.get $sum))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $rows)))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (local.set $entry (f64.load (i32.add (local.get $b) (local.get $off))))
            (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0))))
            (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column1) (local.get $off))) (local.get $solved1))))
            (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column2) (local.get $off))) (local.get $solved2))))
            (local.set $entry (f64.sub (local.get $entry) (f64.mul (f64.load (i32.add (local.get $column3) (local.get $off))) (local.get $solved3))))
            (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $entry))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $blocks)))
    (block $columnsDone
      (loop $columns
        (br_if $columnsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $column0 (i32.add (local.get $factor) (i32.mul (local.get $j) (local.get $strideBytes))))
        (local.set $off (i32.shl (local.get $j) (i32.const 3)))
        (local.set $solved0
          (f64.div (f64.load (i32.add (local.get $b) (local.get $off))) (f64.load (i32.add (local.get $column0) (local.get $off)))))
        (f64.store (i32.add (local.get $b) (local.get $off)) (local.get $solved0))
        (local.set $v0 (f64x2.splat (local.get $solved0)))
        (local.set $off (i32.add (local.get $off) (i32.const 8)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.gt_u (i32.add (local.get $off) (i32.const 16)) (local.get $end)))
            (local.set $address (i32.add (local.get $b) (local.get $off)))
            (v128.store (local.get $address)
              (f64x2.sub (v128.load (local.get $address))
                (f64x2.mul (v128.load (i32.add (local.get $column0) (local.get $off))) (local.get $v0))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $rows)))
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (f64.store (i32.add (local.get $b) (local.get $off))
              (f64.sub (f64.load (i32.add (local.get $b) (local.get $off)))
                (f64.mul (f64.load (i32.add (local.get $column0) (local.get $off))) (local.get $solved0))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns))))

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

  ;; The fused slide, 4 sweep steps per pass over the rows: steps k .. k + 3
  ;; are applied to each row while its update and l entries stay in
  ;; registers, so those are loaded and stored once per 4 columns. New column
  ;; k + c is old column k + c + 1 shifted up one row, so one address serves
  ;; as step c's target and (8 bytes on) step c − 1's source. The rows run
  ;; four at a time, and the 16 rotation constants, splatted, sit in
  ;; $scratch (256 bytes), loaded where used: each load serves two vectors
  ;; of rows, and held in locals they would outnumber the x64 vector
  ;; registers (V8 then spills and reloads them on every iteration anyway).
  ;; Per element the same operations in the same order as one step at a
  ;; time, so the result is bit-identical to $sweepFrom. The last
  ;; (n − 1) mod 4 columns go through $sweepFrom.
  (func (export "replaceOldest") (param $n i32) (param $stride i32) (param $factor i32) (param $update i32) (param $l i32) (param $scratch i32)
    (local $remaining i32) (local $k i32) (local $off i32) (local $end i32) (local $strideBytes i32) (local $scale f64)
    (local $column0 i32) (local $column1 i32) (local $column2 i32) (local $column3 i32) (local $column4 i32)
    (local $updateAddress i32) (local $lAddress i32) (local $sourceAddress i32) (local $targetAddress i32)
    (local $cosine0 f64) (local $carriedWeight0 f64) (local $oldWeight0 f64) (local $solved0 f64)
    (local $cosine1 f64) (local $carriedWeight1 f64) (local $oldWeight1 f64) (local $solved1 f64)
    (local $cosine2 f64) (local $carriedWeight2 f64) (local $oldWeight2 f64) (local $solved2 f64)
    (local $cosine3 f64) (local $carriedWeight3 f64) (local $oldWeight3 f64) (local $solved3 f64)
    (local $pivot f64) (local $incoming f64) (local $radius f64) (local $old f64) (local $carried f64) (local $updated f64) (local $lEntry f64)
    (local $weight v128) (local $carried0 v128) (local $carried1 v128) (local $l0 v128) (local $l1 v128)
    (local $old0 v128) (local $old1 v128) (local $updated0 v128) (local $updated1 v128)
    (local.set $remaining (i32.sub (local.get $n) (i32.const 1)))
    (local.set $end (i32.shl (local.get $remaining) (i32.const 3)))
    (local.set $strideBytes (i32.shl (local.get $stride) (i32.const 3)))
    (local.set $scale (f64.const 1))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $remaining)))
        (local.set $column0 (i32.add (local.get $factor) (i32.mul (local.get $k) (local.get $strideBytes))))
        (local.set $column1 (i32.add (local.get $column0) (local.get $strideBytes)))
        (local.set $column2 (i32.add (local.get $column1) (local.get $strideBytes)))
        (local.set $column3 (i32.add (local.get $column2) (local.get $strideBytes)))
        (local.set $column4 (i32.add (local.get $column3) (local.get $strideBytes)))
        ;; Row k + 0: step k + 0 at its head.
        (local.set $off (i32.shl (i32.add (local.get $k) (i32.const 0)) (i32.const 3)))
        (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
        (local.set $lEntry (f64.load (i32.add (local.get $l) (local.get $off))))
        (local.set $pivot (f64.load offset=8 (i32.add (local.get $column1) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (local.get $carried)))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine0 (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight0 (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight0 (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine0)))
        (f64.store (i32.add (local.get $column0) (local.get $off)) (local.get $radius))
        (local.set $solved0 (f64.div (local.get $lEntry) (local.get $radius)))
        (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved0))
        ;; Row k + 1: step k on it, then step k + 1 at its head.
        (local.set $off (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 3)))
        (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
        (local.set $lEntry (f64.load (i32.add (local.get $l) (local.get $off))))
        (local.set $old (f64.load offset=8 (i32.add (local.get $column1) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine0) (local.get $old)) (f64.mul (local.get $carriedWeight0) (local.get $carried))))
        (f64.store (i32.add (local.get $column0) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight0) (local.get $old))))
        (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved0))))
        (local.set $pivot (f64.load offset=8 (i32.add (local.get $column2) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (local.get $carried)))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine1 (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight1 (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight1 (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine1)))
        (f64.store (i32.add (local.get $column1) (local.get $off)) (local.get $radius))
        (local.set $solved1 (f64.div (local.get $lEntry) (local.get $radius)))
        (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved1))
        (f64.store (i32.add (local.get $update) (local.get $off)) (local.get $carried))
        ;; Row k + 2: steps k .. k + 1 on it, then step k + 2 at its head.
        (local.set $off (i32.shl (i32.add (local.get $k) (i32.const 2)) (i32.const 3)))
        (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
        (local.set $lEntry (f64.load (i32.add (local.get $l) (local.get $off))))
        (local.set $old (f64.load offset=8 (i32.add (local.get $column1) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine0) (local.get $old)) (f64.mul (local.get $carriedWeight0) (local.get $carried))))
        (f64.store (i32.add (local.get $column0) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight0) (local.get $old))))
        (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved0))))
        (local.set $old (f64.load offset=8 (i32.add (local.get $column2) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine1) (local.get $old)) (f64.mul (local.get $carriedWeight1) (local.get $carried))))
        (f64.store (i32.add (local.get $column1) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight1) (local.get $old))))
        (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved1))))
        (local.set $pivot (f64.load offset=8 (i32.add (local.get $column3) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (local.get $carried)))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine2 (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight2 (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight2 (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine2)))
        (f64.store (i32.add (local.get $column2) (local.get $off)) (local.get $radius))
        (local.set $solved2 (f64.div (local.get $lEntry) (local.get $radius)))
        (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved2))
        (f64.store (i32.add (local.get $update) (local.get $off)) (local.get $carried))
        ;; Row k + 3: steps k .. k + 2 on it, then step k + 3 at its head.
        (local.set $off (i32.shl (i32.add (local.get $k) (i32.const 3)) (i32.const 3)))
        (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
        (local.set $lEntry (f64.load (i32.add (local.get $l) (local.get $off))))
        (local.set $old (f64.load offset=8 (i32.add (local.get $column1) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine0) (local.get $old)) (f64.mul (local.get $carriedWeight0) (local.get $carried))))
        (f64.store (i32.add (local.get $column0) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight0) (local.get $old))))
        (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved0))))
        (local.set $old (f64.load offset=8 (i32.add (local.get $column2) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine1) (local.get $old)) (f64.mul (local.get $carriedWeight1) (local.get $carried))))
        (f64.store (i32.add (local.get $column1) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight1) (local.get $old))))
        (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved1))))
        (local.set $old (f64.load offset=8 (i32.add (local.get $column3) (local.get $off))))
        (local.set $updated (f64.add (f64.mul (local.get $cosine2) (local.get $old)) (f64.mul (local.get $carriedWeight2) (local.get $carried))))
        (f64.store (i32.add (local.get $column2) (local.get $off)) (local.get $updated))
        (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight2) (local.get $old))))
        (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved2))))
        (local.set $pivot (f64.load offset=8 (i32.add (local.get $column4) (local.get $off))))
        (local.set $incoming (f64.mul (local.get $scale) (local.get $carried)))
        (local.set $radius
          (f64.sqrt (f64.add (f64.mul (local.get $pivot) (local.get $pivot)) (f64.mul (local.get $incoming) (local.get $incoming)))))
        (local.set $cosine3 (f64.div (local.get $pivot) (local.get $radius)))
        (local.set $carriedWeight3 (f64.mul (f64.div (local.get $incoming) (local.get $radius)) (local.get $scale)))
        (local.set $oldWeight3 (f64.div (local.get $incoming) (f64.mul (local.get $pivot) (local.get $scale))))
        (local.set $scale (f64.mul (local.get $scale) (local.get $cosine3)))
        (f64.store (i32.add (local.get $column3) (local.get $off)) (local.get $radius))
        (local.set $solved3 (f64.div (local.get $lEntry) (local.get $radius)))
        (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $solved3))
        (f64.store (i32.add (local.get $update) (local.get $off)) (local.get $carried))
        (v128.store offset=0 (local.get $scratch) (f64x2.splat (local.get $cosine0)))
        (v128.store offset=16 (local.get $scratch) (f64x2.splat (local.get $carriedWeight0)))
        (v128.store offset=32 (local.get $scratch) (f64x2.splat (local.get $oldWeight0)))
        (v128.store offset=48 (local.get $scratch) (f64x2.splat (local.get $solved0)))
        (v128.store offset=64 (local.get $scratch) (f64x2.splat (local.get $cosine1)))
        (v128.store offset=80 (local.get $scratch) (f64x2.splat (local.get $carriedWeight1)))
        (v128.store offset=96 (local.get $scratch) (f64x2.splat (local.get $oldWeight1)))
        (v128.store offset=112 (local.get $scratch) (f64x2.splat (local.get $solved1)))
        (v128.store offset=128 (local.get $scratch) (f64x2.splat (local.get $cosine2)))
        (v128.store offset=144 (local.get $scratch) (f64x2.splat (local.get $carriedWeight2)))
        (v128.store offset=160 (local.get $scratch) (f64x2.splat (local.get $oldWeight2)))
        (v128.store offset=176 (local.get $scratch) (f64x2.splat (local.get $solved2)))
        (v128.store offset=192 (local.get $scratch) (f64x2.splat (local.get $cosine3)))
        (v128.store offset=208 (local.get $scratch) (f64x2.splat (local.get $carriedWeight3)))
        (v128.store offset=224 (local.get $scratch) (f64x2.splat (local.get $oldWeight3)))
        (v128.store offset=240 (local.get $scratch) (f64x2.splat (local.get $solved3)))
        ;; All 4 steps on rows k + 4 .., four rows per iteration.
        (local.set $off (i32.shl (i32.add (local.get $k) (i32.const 4)) (i32.const 3)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.gt_u (i32.add (local.get $off) (i32.const 32)) (local.get $end)))
            (local.set $updateAddress (i32.add (local.get $update) (local.get $off)))
            (local.set $lAddress (i32.add (local.get $l) (local.get $off)))
            (local.set $carried0 (v128.load offset=0 (local.get $updateAddress)))
            (local.set $l0 (v128.load offset=0 (local.get $lAddress)))
            (local.set $carried1 (v128.load offset=16 (local.get $updateAddress)))
            (local.set $l1 (v128.load offset=16 (local.get $lAddress)))
            (local.set $targetAddress (i32.add (local.get $column0) (local.get $off)))
            ;; Step k.
            (local.set $sourceAddress (i32.add (local.get $column1) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $old1 (v128.load offset=24 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=0 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $updated1 (f64x2.mul (local.get $weight) (local.get $old1)))
            (local.set $weight (v128.load offset=16 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $updated1 (f64x2.add (local.get $updated1) (f64x2.mul (local.get $weight) (local.get $carried1))))
            (v128.store offset=16 (local.get $targetAddress) (local.get $updated1))
            (local.set $weight (v128.load offset=32 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $carried1 (f64x2.sub (local.get $carried1) (f64x2.mul (local.get $weight) (local.get $old1))))
            (local.set $weight (v128.load offset=48 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $l1 (f64x2.sub (local.get $l1) (f64x2.mul (local.get $updated1) (local.get $weight))))
            (local.set $targetAddress (local.get $sourceAddress))
            ;; Step k + 1.
            (local.set $sourceAddress (i32.add (local.get $column2) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $old1 (v128.load offset=24 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=64 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $updated1 (f64x2.mul (local.get $weight) (local.get $old1)))
            (local.set $weight (v128.load offset=80 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $updated1 (f64x2.add (local.get $updated1) (f64x2.mul (local.get $weight) (local.get $carried1))))
            (v128.store offset=16 (local.get $targetAddress) (local.get $updated1))
            (local.set $weight (v128.load offset=96 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $carried1 (f64x2.sub (local.get $carried1) (f64x2.mul (local.get $weight) (local.get $old1))))
            (local.set $weight (v128.load offset=112 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $l1 (f64x2.sub (local.get $l1) (f64x2.mul (local.get $updated1) (local.get $weight))))
            (local.set $targetAddress (local.get $sourceAddress))
            ;; Step k + 2.
            (local.set $sourceAddress (i32.add (local.get $column3) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $old1 (v128.load offset=24 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=128 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $updated1 (f64x2.mul (local.get $weight) (local.get $old1)))
            (local.set $weight (v128.load offset=144 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $updated1 (f64x2.add (local.get $updated1) (f64x2.mul (local.get $weight) (local.get $carried1))))
            (v128.store offset=16 (local.get $targetAddress) (local.get $updated1))
            (local.set $weight (v128.load offset=160 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $carried1 (f64x2.sub (local.get $carried1) (f64x2.mul (local.get $weight) (local.get $old1))))
            (local.set $weight (v128.load offset=176 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $l1 (f64x2.sub (local.get $l1) (f64x2.mul (local.get $updated1) (local.get $weight))))
            (local.set $targetAddress (local.get $sourceAddress))
            ;; Step k + 3.
            (local.set $sourceAddress (i32.add (local.get $column4) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $old1 (v128.load offset=24 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=192 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $updated1 (f64x2.mul (local.get $weight) (local.get $old1)))
            (local.set $weight (v128.load offset=208 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $updated1 (f64x2.add (local.get $updated1) (f64x2.mul (local.get $weight) (local.get $carried1))))
            (v128.store offset=16 (local.get $targetAddress) (local.get $updated1))
            (local.set $weight (v128.load offset=224 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $carried1 (f64x2.sub (local.get $carried1) (f64x2.mul (local.get $weight) (local.get $old1))))
            (local.set $weight (v128.load offset=240 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $l1 (f64x2.sub (local.get $l1) (f64x2.mul (local.get $updated1) (local.get $weight))))
            (v128.store offset=0 (local.get $updateAddress) (local.get $carried0))
            (v128.store offset=0 (local.get $lAddress) (local.get $l0))
            (v128.store offset=16 (local.get $updateAddress) (local.get $carried1))
            (v128.store offset=16 (local.get $lAddress) (local.get $l1))
            (local.set $off (i32.add (local.get $off) (i32.const 32)))
            (br $rows)))
        ;; Two rows left over.
        (if (i32.le_u (i32.add (local.get $off) (i32.const 16)) (local.get $end))
          (then
            (local.set $updateAddress (i32.add (local.get $update) (local.get $off)))
            (local.set $lAddress (i32.add (local.get $l) (local.get $off)))
            (local.set $carried0 (v128.load offset=0 (local.get $updateAddress)))
            (local.set $l0 (v128.load offset=0 (local.get $lAddress)))
            (local.set $targetAddress (i32.add (local.get $column0) (local.get $off)))
            ;; Step k.
            (local.set $sourceAddress (i32.add (local.get $column1) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=0 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $weight (v128.load offset=16 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $weight (v128.load offset=32 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $weight (v128.load offset=48 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $targetAddress (local.get $sourceAddress))
            ;; Step k + 1.
            (local.set $sourceAddress (i32.add (local.get $column2) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=64 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $weight (v128.load offset=80 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $weight (v128.load offset=96 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $weight (v128.load offset=112 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $targetAddress (local.get $sourceAddress))
            ;; Step k + 2.
            (local.set $sourceAddress (i32.add (local.get $column3) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=128 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $weight (v128.load offset=144 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $weight (v128.load offset=160 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $weight (v128.load offset=176 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (local.set $targetAddress (local.get $sourceAddress))
            ;; Step k + 3.
            (local.set $sourceAddress (i32.add (local.get $column4) (local.get $off)))
            (local.set $old0 (v128.load offset=8 (local.get $sourceAddress)))
            (local.set $weight (v128.load offset=192 (local.get $scratch)))
            (local.set $updated0 (f64x2.mul (local.get $weight) (local.get $old0)))
            (local.set $weight (v128.load offset=208 (local.get $scratch)))
            (local.set $updated0 (f64x2.add (local.get $updated0) (f64x2.mul (local.get $weight) (local.get $carried0))))
            (v128.store offset=0 (local.get $targetAddress) (local.get $updated0))
            (local.set $weight (v128.load offset=224 (local.get $scratch)))
            (local.set $carried0 (f64x2.sub (local.get $carried0) (f64x2.mul (local.get $weight) (local.get $old0))))
            (local.set $weight (v128.load offset=240 (local.get $scratch)))
            (local.set $l0 (f64x2.sub (local.get $l0) (f64x2.mul (local.get $updated0) (local.get $weight))))
            (v128.store offset=0 (local.get $updateAddress) (local.get $carried0))
            (v128.store offset=0 (local.get $lAddress) (local.get $l0))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))))
        ;; One row left over.
        (if (i32.lt_u (local.get $off) (local.get $end))
          (then
            (local.set $carried (f64.load (i32.add (local.get $update) (local.get $off))))
            (local.set $lEntry (f64.load (i32.add (local.get $l) (local.get $off))))
            (local.set $old (f64.load offset=8 (i32.add (local.get $column1) (local.get $off))))
            (local.set $updated (f64.add (f64.mul (local.get $cosine0) (local.get $old)) (f64.mul (local.get $carriedWeight0) (local.get $carried))))
            (f64.store (i32.add (local.get $column0) (local.get $off)) (local.get $updated))
            (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight0) (local.get $old))))
            (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved0))))
            (local.set $old (f64.load offset=8 (i32.add (local.get $column2) (local.get $off))))
            (local.set $updated (f64.add (f64.mul (local.get $cosine1) (local.get $old)) (f64.mul (local.get $carriedWeight1) (local.get $carried))))
            (f64.store (i32.add (local.get $column1) (local.get $off)) (local.get $updated))
            (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight1) (local.get $old))))
            (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved1))))
            (local.set $old (f64.load offset=8 (i32.add (local.get $column3) (local.get $off))))
            (local.set $updated (f64.add (f64.mul (local.get $cosine2) (local.get $old)) (f64.mul (local.get $carriedWeight2) (local.get $carried))))
            (f64.store (i32.add (local.get $column2) (local.get $off)) (local.get $updated))
            (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight2) (local.get $old))))
            (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved2))))
            (local.set $old (f64.load offset=8 (i32.add (local.get $column4) (local.get $off))))
            (local.set $updated (f64.add (f64.mul (local.get $cosine3) (local.get $old)) (f64.mul (local.get $carriedWeight3) (local.get $carried))))
            (f64.store (i32.add (local.get $column3) (local.get $off)) (local.get $updated))
            (local.set $carried (f64.sub (local.get $carried) (f64.mul (local.get $oldWeight3) (local.get $old))))
            (local.set $lEntry (f64.sub (local.get $lEntry) (f64.mul (local.get $updated) (local.get $solved3))))
            (f64.store (i32.add (local.get $update) (local.get $off)) (local.get $carried))
            (f64.store (i32.add (local.get $l) (local.get $off)) (local.get $lEntry))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $blocks)))
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
