#!/bin/bash
# Regenerates the committed runs of `rfscore reproduce --paper --only sm9,fig7` and of the `networks` figure
# (rfscore/figures/data/sm9_runs.*, fig7_adam_runs.*, fig7_controls.*): the paper's mixture protocol at CPU sizes
# (theory/trained_networks.md §7-§8). Resumable: rerunning continues every run from its checkpoints.
# Measured on 2 shared cores (load 3-10 from other jobs): about 9 h 45 min in all.
set -e
R="rfscore train-net --no-progress --workers 2"
mkdir -p runs
# the paper's protocol: W = 64 and 128 (n = 12 … 384), W = 32 and 256 (n = 12 … 48)
$R --protocol paper --width 64 --n 12,24,48 --steps 50000 --seeds 3 --out runs/p_w64
$R --protocol paper --width 128,32 --n 12,24,48 --steps 100000 --until-plateau --seeds 3 --out runs/p_width
$R --protocol paper --width 64 --n 96 --steps 80000 --seeds 3 --out runs/p_w64_n96
$R --protocol paper --width 64 --n 192 --steps 200000 --until-plateau --seeds 3 --out runs/p_w64_n192
$R --protocol paper --width 128 --n 96 --steps 100000 --until-plateau --seeds 3 --out runs/p_w128_n96
$R --protocol paper --width 128 --n 192 --steps 200000 --until-plateau --seeds 3 --out runs/p_w128_n192
# n = 384 at both widths (3 workers, one per seed; on 2 shared cores W = 128 took about 1 h 40 min of wall time in
# two sittings, W = 64 28 min)
$R --workers 3 --protocol paper --width 128 --n 384 --steps 300000 --until-plateau --seeds 3 --out runs/p_w128_n384
$R --workers 3 --protocol paper --width 64 --n 384 --steps 400000 --until-plateau --seeds 3 --out runs/p_w64_n384
# the paper's smallest sizes at the paper's width: n = 512 and 256 (3 workers; n = 512 took about 90 min of wall time,
# n = 256 about 15 min, on 2 cores beside the test suite)
$R --workers 3 --protocol paper --width 128 --n 512 --steps 250000 --until-plateau --seeds 3 --out runs/p_w128_n512
$R --workers 3 --protocol paper --width 128 --n 256 --steps 150000 --until-plateau --seeds 3 --out runs/p_w128_n256
# W = 64 at n = 512, the test of the capacity candidate of theory §7 (3 workers; about 1 h 40 min of wall time on
# 2 cores in two sittings, paused 12 min for a CI run)
$R --workers 3 --protocol paper --width 64 --n 512 --steps 600000 --until-plateau --seeds 3 --out runs/p_w64_n512
# W = 64 at n = 48 and 96 run about ten times longer than above: does the late f_mem stay below 1? (3 workers;
# 13 min and about 22 min of wall time on 2 cores, the second paused 13 min for a CI run)
$R --workers 3 --protocol paper --width 64 --n 48 --steps 500000 --until-plateau --seeds 3 --out runs/p_w64_n48_long
$R --workers 3 --protocol paper --width 64 --n 96 --steps 1000000 --until-plateau --seeds 3 --out runs/p_w64_n96_long
# the paper's third width at the small n (3 workers; 35 min on 2 cores, paused during a CI run)
$R --workers 3 --protocol paper --width 256 --n 12,24,48 --steps 50000 --until-plateau --seeds 3 --out runs/p_w256
# the paper's third width beyond n = 48, for the width exponent at each n (width_fit.at_n) (3 workers; n = 96 took
# 23 min and n = 192 38 min of wall time on 2 cores shared with other jobs)
$R --workers 3 --protocol paper --width 256 --n 96 --steps 80000 --until-plateau --seeds 3 --out runs/p_w256_n96
$R --workers 3 --protocol paper --width 256 --n 192 --steps 150000 --until-plateau --seeds 3 --out runs/p_w256_n192
# W = 256 at the paper's second size (3 workers; 88 min of wall time on 2 cores, restarted once at update 20 412)
$R --workers 3 --protocol paper --width 256 --n 512 --steps 150000 --until-plateau --seeds 3 --out runs/p_w256_n512
# the same protocol on the 8x8 digits (d = 64)
$R --protocol paper --data digits --width 128 --n 12,24,48 --steps 60000 --seeds 3 --out runs/d_digits
# the optimiser and the batch (N14)
$R --protocol paper --optimizer adam --lr 6e-4 --width 64 --n 12,24,48 --steps 50000 --until-plateau --seeds 3 --out runs/p_adam
$R --protocol paper --optimizer adam --lr 6e-4 --batch 6 --width 64 --n 12,24,48 --steps 50000 --until-plateau --seeds 3 --out runs/p_adam_b6
$R --protocol paper --batch 6 --width 64 --n 12,24,48 --steps 100000 --until-plateau --seeds 3 --out runs/p_sgd_b6
for B in 12 24; do
  $R --protocol paper --batch $B --width 64 --n 48 --steps 100000 --until-plateau --seeds 3 --out runs/p_sgd_n48_b$B
  $R --protocol paper --optimizer adam --lr 6e-4 --batch $B --width 64 --n 48 --steps 50000 --until-plateau --seeds 3 --out runs/p_adam_n48_b$B
done
# one thing at a time: the time law, the mixture, the paper's n/2 : n/2 split of the components
$R --protocol paper --time-sampling loguniform --width 64 --n 12,24,48 --steps 50000 --until-plateau --seeds 3 --out runs/v_loguniform
$R --protocol paper --gmm-mean 0.8 --gmm-std 0.6 --width 64 --n 12,24,48 --steps 50000 --until-plateau --seeds 3 --out runs/v_gmmdefault
$R --protocol paper --gmm-split balanced --width 64 --n 12,24,48 --steps 50000 --seeds 3 --out runs/v_balanced
# the committed CSVs and sidecars
D=rfscore/figures/data
python -m rfscore.analysis.networks runs/p_w64 runs/p_width runs/p_w64_n96 runs/p_w64_n192 runs/p_w64_n384 runs/p_w64_n512 \
    runs/p_w128_n96 runs/p_w128_n192 runs/p_w128_n256 runs/p_w128_n384 runs/p_w128_n512 runs/p_w256 \
    runs/p_w256_n96 runs/p_w256_n192 runs/p_w256_n512 --merge $D/sm9_runs.csv
# (a committed union also grows by one new folder without the others: python -m rfscore.analysis.networks
#  $D/sm9_runs.csv runs/NEW --merge $D/sm9_runs.csv, as the W = 256, n = 512 run was added)
python -m rfscore.analysis.networks runs/p_w64_n48_long runs/p_w64_n96_long --merge $D/w64_long_runs.csv
python -m rfscore.analysis.networks runs/d_digits --merge $D/digits_paper_runs.csv
python -m rfscore.analysis.networks runs/p_adam --merge $D/fig7_adam_runs.csv
python -m rfscore.analysis.networks runs/p_w64 runs/p_adam runs/p_adam_b6 runs/p_sgd_b6 runs/p_sgd_n48_b12 \
    runs/p_adam_n48_b12 runs/p_sgd_n48_b24 runs/p_adam_n48_b24 runs/v_loguniform runs/v_gmmdefault runs/v_balanced \
    --controls $D/fig7_controls.csv --sweep-n 48
rfscore reproduce --paper --only sm9,fig7 --out figures/paper
