#!/usr/bin/python3
"""A real PyTorch input pipeline for warpdrive-bench (run with Debian's /usr/bin/python3 and python3-torch).

  loader.py make --root DIR --images N --classes C --shards S
      Creates DIR/jpeg/class-XX/img-NNNNNN.jpg (ImageFolder layout) and DIR/tar/shard-NNNN.tar holding the same
      images (WebDataset-style pairs NNNNNN.jpg + NNNNNN.cls). Idempotent: DIR/.complete records what was made.

  loader.py serve
      Reads one command per line on stdin, answers one JSON line on stdout, until EOF:
        epoch <root> <jpeg|tar> <workers> <batch_size> <seed>
      runs one epoch of a torch DataLoader over <root>/jpeg (torchvision ImageFolder, shuffled) or <root>/tar
      (an IterableDataset streaming the shards, shard order shuffled, shards split across workers), decoding every
      JPEG with PIL into a tensor, and answers {"samples": n, "seconds": s, "samples_per_s": r, "checksum": c}.
      One long-lived process, so importing torch (seconds) is paid once, not per figure.
"""
import io
import json
import os
import random
import sys
import tarfile
import time

SIDE = 224  # pixels; random-noise JPEGs at quality 95, no chroma subsampling, come out at ~100 KiB, like ImageNet's average


def make(root, images, classes, shards):
    marker = os.path.join(root, ".complete")
    wanted = f"{images} {classes} {shards} {SIDE}\n"
    if os.path.exists(marker) and open(marker).read() == wanted:
        return
    from PIL import Image
    rng = random.Random(1234)
    names = []
    for i in range(images):
        label = i % classes
        directory = os.path.join(root, "jpeg", f"class-{label:02d}")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"img-{i:06d}.jpg")
        # Noise, so the file is as large as a photo of this size (a flat image would shrink to a few KiB).
        Image.frombytes("RGB", (SIDE, SIDE), rng.randbytes(SIDE * SIDE * 3)).save(path, quality=95, subsampling=0)
        names.append((i, label, path))
    os.makedirs(os.path.join(root, "tar"), exist_ok=True)
    per_shard = (len(names) + shards - 1) // shards
    for s in range(shards):
        with tarfile.open(os.path.join(root, "tar", f"shard-{s:04d}.tar"), "w") as tar:
            for i, label, path in names[s * per_shard:(s + 1) * per_shard]:
                tar.add(path, arcname=f"{i:06d}.jpg")
                data = str(label).encode()
                info = tarfile.TarInfo(f"{i:06d}.cls")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    with open(marker, "w") as f:
        f.write(wanted)


def serve():
    import warnings
    warnings.filterwarnings("ignore", category=UserWarning)  # "4 workers on 2 cores" is the point of the run
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, IterableDataset, get_worker_info
    from torchvision import datasets, transforms

    to_tensor = transforms.ToTensor()

    class TarShards(IterableDataset):
        def __init__(self, shards, seed):
            self.shards = shards
            self.seed = seed

        def __iter__(self):
            info = get_worker_info()
            shards = list(self.shards)
            random.Random(self.seed).shuffle(shards)
            if info is not None:
                shards = shards[info.id::info.num_workers]
            for shard in shards:
                with tarfile.open(shard, "r|") as tar:
                    image = None
                    for member in tar:
                        data = tar.extractfile(member).read()
                        if member.name.endswith(".jpg"):
                            image = to_tensor(Image.open(io.BytesIO(data)).convert("RGB"))
                        elif member.name.endswith(".cls") and image is not None:
                            yield image, int(data)
                            image = None

    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        try:
            _, root, kind, workers, batch, seed = parts
            workers, batch, seed = int(workers), int(batch), int(seed)
            torch.manual_seed(seed)
            start = time.perf_counter()
            if kind == "jpeg":
                dataset = datasets.ImageFolder(os.path.join(root, "jpeg"), transform=to_tensor)
                loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers)
            else:
                directory = os.path.join(root, "tar")
                shards = sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".tar"))
                loader = DataLoader(TarShards(shards, seed), batch_size=batch, num_workers=workers)
            samples = 0
            checksum = 0
            for images, labels in loader:
                samples += images.shape[0]
                checksum += int(labels.sum())
            seconds = time.perf_counter() - start
            answer = {"samples": samples, "seconds": seconds, "samples_per_s": samples / seconds, "checksum": checksum}
        except Exception as e:  # reported to the benchmark as a failed figure, the process keeps serving
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "make":
        args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
        make(args["--root"], int(args["--images"]), int(args["--classes"]), int(args["--shards"]))
    elif len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
