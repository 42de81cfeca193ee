"""Where AIC's training and evaluation data come from, with each source's licence.

Only permissively licensed sources train models (opencv-doc's sample images and videos, the
CC0 and public-domain images that python3-skimage ships, scikit-learn's two CC-BY-2.0 sample
photos and SciPy's raccoon face). Wallpapers under the GPL/LGPL
(mate-backgrounds, plasma-workspace-wallpapers) are for evaluation only. lena.jpg is never
used: its provenance is disputed (Debian's opencv-doc already leaves it out).
"""

OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
OPENCV_LICENCE = "Apache-2.0 AND BSD-3-Clause (OpenCV samples/data, per Debian's copyright file for opencv-doc)"
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"

# Videos from opencv-doc and their split: Megamind.avi is the held-out clip for tool 1's
# benchmark. tree.avi (320x240) is smaller than the 640x360 reference frames and would have to
# be upscaled, so it is left out; Megamind_bugy.avi is a deliberately damaged copy for OpenCV's tests.
OPENCV_VIDEOS = {"vtest.avi": "train", "Megamind.avi": "val"}

# OpenCV sample images that are not photographs (charts, logos, text, calibration boards,
# synthetic shapes) or are too small to downscale: left out of training.
OPENCV_IMAGE_EXCLUDE = {
    "lena.jpg", "lena_tmpl.jpg", "LinuxLogo.jpg", "WindowsLogo.jpg", "opencv-logo.png",
    "opencv-logo-white.png", "digits.png", "chessboard.png", "notes.png", "text_defect.png",
    "imageTextN.png", "imageTextR.png", "gradient.png", "mask.png", "ellipses.jpg", "detect_blob.png",
    "pic1.png", "pic2.png", "pic3.png", "pic4.png", "pic5.png", "pic6.png", "ml.png", "cards.png",
}

# python3-skimage images whose licence its own data module states (skimage/data/_fetchers.py).
SKIMAGE_IMAGES = {
    "astronaut.png": "public domain (NASA)",
    "camera.png": "CC0 (Lav Varshney)",
    "coffee.png": "CC0 (Rachel Michetti)",
    "chelsea.png": "CC0 (Stefan van der Walt)",
    "clock_motion.png": "public domain (Stefan van der Walt)",
    "coins.png": "no known copyright restrictions",
    "brick.png": "CC0 (CC0Textures)",
    "grass.png": "CC0 (CC0Textures)",
    "gravel.png": "CC0 (CC0Textures)",
    "hubble_deep_field.jpg": "public domain (NASA)",
    "rocket.jpg": "public domain (SpaceX)",
    "retina.jpg": "CC0",
    "ihc.png": "no known copyright restrictions",
    "microaneurysms.png": "CC0 (Andreas Maier)",
    "cell.png": "CC0",
    "text.png": "public domain",
}

# python3-sklearn's sample photos, with the attribution its images/README.txt gives (CC BY 2.0
# asks for it: the data card carries it).
SKLEARN_DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/images"
SKLEARN_IMAGES = {
    "china.jpg": "CC-BY-2.0 (danielbuechele on Flickr, per scikit-learn's images/README.txt)",
    "flower.jpg": "CC-BY-2.0 (vultilion on Flickr, per scikit-learn's images/README.txt)",
}

# python3-scipy's raccoon face (scipy/misc/face.dat: bz2-compressed 768x1024 RGB bytes). SciPy's
# docstring derives it from a photo at public-domain-image.com; Debian ships it under SciPy's
# BSD-3-Clause (no entry of its own in the copyright file). Permissive either way.
SCIPY_FACE = "/usr/lib/python3/dist-packages/scipy/misc/face.dat"
SCIPY_FACE_LICENCE = "public domain (public-domain-image.com, per SciPy's docstring); BSD-3-Clause as part of SciPy in Debian"

# Evaluation only (GPL/LGPL): never written to a training split.
EVAL_ONLY = {
    "mate-backgrounds": ("/usr/share/backgrounds/mate/nature", "GPL-2+ (Debian mate-backgrounds)"),
    "plasma-workspace-wallpapers": ("/usr/share/wallpapers", "LGPL-3 / GPL (Debian plasma-workspace-wallpapers)"),
}
