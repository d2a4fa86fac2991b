"""Where LAION-fMRI keeps its brain files (keys relative to the data root, as in the bucket)."""

from __future__ import annotations

from .layout import GLM_DIR

ROIS_DIR = "derivatives/rois"
ANAT_DIR = "derivatives/anatomical"
#: Subject-level noise ceilings (``desc=`` of ``get_noise_ceiling``), in percent.
NOISE_CEILING_DESCS = ("Noiseceiling4rep", "Noiseceiling12rep", "NoiseceilingAllrep")
MASK_SOURCES = ("anatomical", "rsquare")
RESOLUTIONS = ("1pt8", "1pt5")
#: Subjects of the release.
SUBJECTS = ("sub-01", "sub-03", "sub-05", "sub-06", "sub-07")


def func_dir(subject: str, session: str) -> str:
    return f"{GLM_DIR}/{subject}/{session}/func"


def betas_key(subject: str, session: str) -> str:
    """The 4-D single-trial betas of one session (volume k = row k of the trials TSV)."""
    return (f"{func_dir(subject, session)}/{subject}_{session}_task-images_space-T1w_"
            f"stat-effect_desc-SingletrialBetas_statmap.nii.gz")


def session_noise_ceiling_key(subject: str, session: str) -> str:
    return (f"{func_dir(subject, session)}/{subject}_{session}_task-images_space-T1w_"
            f"desc-Noiseceiling_statmap.nii.gz")


def subject_noise_ceiling_key(subject: str, desc: str) -> str:
    return f"{GLM_DIR}/{subject}/{subject}_task-images_space-T1w_desc-{desc}_statmap.nii.gz"


def r2mean_key(subject: str) -> str:
    return (f"{GLM_DIR}/{subject}/{subject}_task-images_space-T1w_stat-rsquare_desc-R2mean_"
            f"statmap.nii.gz")


def anatomical_mask_key(subject: str, res: str = "1pt8") -> str:
    return (f"{ANAT_DIR}/{subject}/ses-PrismaAnat/anat/{subject}_ses-PrismaAnat_space-T1w_"
            f"res-{res}_desc-brain_mask.nii.gz")


def rois_dir(subject: str) -> str:
    return f"{ROIS_DIR}/{subject}"


def roi_key(subject: str, category: str, roi: str, res: str = "1pt8") -> str:
    return f"{ROIS_DIR}/{subject}/{category}/{subject}_space-T1w_res-{res}_label-{roi}_mask.nii.gz"


def roi_pattern(subject: str, res: str = "1pt8") -> tuple[str, str]:
    """The prefix and suffix around the ROI name in an ROI mask file name."""
    return f"{subject}_space-T1w_res-{res}_label-", "_mask.nii.gz"
