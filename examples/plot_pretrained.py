"""
Classify digits with the weights tinyconv ships
===============================================

``st8k(weights="mnist")`` builds the under-8,000-parameter network and loads trained
weights that ship inside the package (a safetensors file, checked against its SHA-256
before it is read). The weights' metadata says how they were made and how well they do;
``transforms()`` turns raw 28×28 ``uint8`` digits into what the network expects.
"""

import matplotlib.pyplot as plt
import torch

from tinyconv.data.mnist import load_mnist
from tinyconv.zoo import get_weights, st8k

weights = get_weights("st8k", "mnist")
print(f"{weights.model}: {weights.test_accuracy:.2f}% on the MNIST test set "
      f"({weights.test_correct:,} of {weights.test_total:,}), "
      f"recipe {weights.recipe!r}, "
      f"seed {weights.seed}")
print(f"made with: {weights.command}")

model = st8k(weights="mnist")
images, labels = load_mnist(train=False)
digits = images[:12]
with torch.no_grad():
    probabilities = model(weights.transforms()(digits)).exp()
confidence, predicted = probabilities.max(dim=1)

# %%
# Twelve test digits with the network's answer and its probability (red: wrong).
fig, axes = plt.subplots(2, 6, figsize=(9, 3.4))
for ax, image, label, guess, p in zip(axes.flat, digits, labels, predicted, confidence):
    ax.imshow(image, cmap="gray")
    colour = "black" if guess == label else "red"
    ax.set_title(f"{int(guess)} ({100 * float(p):.0f}%)", color=colour, fontsize=10)
    ax.axis("off")
fig.tight_layout()
plt.show()
