#!/bin/bash
# fastresize-slurm-array.sh: a Slurm job array that resizes one tree in 16 static shards, one task each.
#
# Slurm sets SLURM_ARRAY_TASK_ID (and SLURM_ARRAY_TASK_MIN); `--shard auto/16` counts from the
# array's first index, so --array=1-16 and --array=0-15 both work. The 16 tasks together make
# every input exactly once; each keeps its own job store on the shared file system, so a task
# resubmitted after a failure (sbatch --array=5 …) makes only what its shard still lacks.
#
#   sbatch docs/fastresize-slurm-array.sh
#SBATCH --job-name=fastresize
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=2G
#SBATCH --time=02:00:00
#SBATCH --output=fastresize-%A_%a.log

set -euo pipefail
shards=16
exec fastresize /shared/photos -o /shared/thumbnails --fit 720x588 --jobs "$SLURM_CPUS_PER_TASK" \
    --shard "auto/$shards" \
    --state "/shared/thumbnails/.fastresize/shard-$SLURM_ARRAY_TASK_ID.db" \
    --memory-limit 1536M --log-format json
