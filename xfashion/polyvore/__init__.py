"""The same pipeline on real Polyvore Outfits (Vasileva et al., ECCV 2018).

Polyvore Outfits is not redistributable here: get it from the authors' repository
(``mvasil/fashion-compatibility`` on GitHub) and unpack it into ``data/polyvore_outfits/``
or point ``$XFASHION_POLYVORE`` at it. Without it, :func:`make_fixture` writes a tiny dataset
in the exact same format, so every step still runs (and is tested).

Layout read here::

    polyvore_item_metadata.json            item id -> semantic_category, category_id, title
    {nondisjoint,disjoint}/{train,valid,test}.json      outfits: set_id, items[{item_id, index}]
    {nondisjoint,disjoint}/compatibility_{split}.txt    "label setid_index setid_index ..."
    {nondisjoint,disjoint}/fill_in_blank_{split}.json   question, answers, blank_position
    images/<item_id>.jpg

Semantic categories map to our slots: tops -> top, bottoms -> bottom, all-body -> dress,
outerwear -> outer, shoes -> shoes, bags -> bag. Jewellery, accessories, sunglasses, hats and
scarves are dropped (our scorer's slot context has six slots); an outfit left with fewer
than two items is skipped, and outfits are cut to their first ``max_items`` kept items.
"""

# what chapter 09 and its tests reach as xf.polyvore.<name> (redundant aliases: re-exported on purpose)
from .data import PUBLISHED as PUBLISHED
from .data import PolyvoreData as PolyvoreData
from .data import default_backbone as default_backbone
from .data import load_polyvore as load_polyvore
from .data import make_fixture as make_fixture
from .data import polyvore_source as polyvore_source
from .photos import PhotoFeatures as PhotoFeatures
from .photos import extract_photo_features as extract_photo_features
from .photos import load_backbone as load_backbone
from .pipeline import PATIENCE as PATIENCE
from .pipeline import PolyvoreReport as PolyvoreReport
from .pipeline import compatibility_metrics as compatibility_metrics
from .pipeline import feature_swap_cases as feature_swap_cases
from .pipeline import fixture_swaps as fixture_swaps
from .pipeline import named_items as named_items
from .pipeline import outfit_batch as outfit_batch
from .pipeline import run_polyvore as run_polyvore
from .pipeline import split_batches as split_batches
from .pipeline import swap_detection as swap_detection
from .pipeline import swap_note as swap_note
from .pipeline import train_scorer as train_scorer
