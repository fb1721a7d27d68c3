"""Regenerate the terminology value sets in rulesets/valuesets/.

Usage (from anywhere; output goes to rulesets/valuesets/ of this repository)::

    python tools/build_valuesets.py \\
        --canvas-wheel PATH/canvas-0.261.0-py3-none-any.whl \\
        --opioid-table PATH/rxnorm-opioid-drugs.csv

Add ``--check`` to write nothing and exit 1 when a file would change.

Every file is one FHIR R4 ValueSet (JSON, 2-space indent, codes sorted):

* VSAC-derived sets: the eCQM value set classes of the MIT-licensed ``canvas`` wheel
  (``canvas_sdk/value_set/v2026/*.py``), read as text with ``ast`` (canvas is never
  imported). Every code of the class is taken, with the ``# display`` comment beside it.
* ``opioid-drugs``: every distinct drug of the OMTK RxNorm opioid drug table
  (``rxnorm-opioid-drugs.csv``, from cqframework/opioid-mme-r4 OMTKData.cql).
* Curated sets: the ``CURATED`` table below, citing the criteria pages
  (``../shared/criteria/S9326.md``, ``S9363.md``).
* Display-filtered sets: the ``DISPLAY_FILTERED`` table below; the codes of one canvas class
  whose display contains an include word and no exclude word (e.g.
  ``malignant-neoplasm-snomed``: the malignant SNOMED CT codes of VSAC "Cancer").

ICD-10-CM codes are written with the dot and each must exist in the ICD-10-CM release
shipped with simple_icd_10_cm (2026); a leaf code becomes a ``concept``, a code with
descendants an ``is-a`` filter. A curated SNOMED CT code takes its display from the canvas
value sets; a code that is not found there keeps the display the criteria page gives and is
listed as such in ``purpose``. The script fails loudly on anything it cannot verify.

Dependencies: the standard library and simple_icd_10_cm.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import simple_icd_10_cm as icd

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "rulesets" / "valuesets"

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SYSTEM_ORDER = (ICD10CM, SNOMED, RXNORM)
SYSTEM_LABEL = {ICD10CM: "ICD-10-CM", SNOMED: "SNOMED CT", RXNORM: "RxNorm"}
CANVAS_ATTR_SYSTEM = {"ICD10CM": ICD10CM, "SNOMEDCT": SNOMED, "RXNORM": RXNORM}

CANVAS_VS_DIR = "canvas_sdk/value_set/v2026/"
VSAC_URL = "http://cts.nlm.nih.gov/fhir/ValueSet/"
CURATED_URL = "urn:home-infusion-cds:ValueSet:"
CURATED_VERSION = "2026.1"
CURATED_PUBLISHER = "home-infusion-cds (curated)"

NLM_ATTRIBUTION = (
    "This product uses publicly available data courtesy of the U.S. National Library of "
    "Medicine (NLM), National Institutes of Health, Department of Health and Human Services; "
    "NLM is not responsible for the product and does not endorse or recommend this or any "
    "other product."
)
OMTK_SOURCE = (
    "cqframework/opioid-mme-r4 (Apache-2.0) commit 1357f45424c40c49911cd73ecf377b740013f21e, "
    "input/cql/OMTKData.cql DrugIngredients list (generated 2020-10-20 from "
    "LocalDataStore_RxNav_OpioidCds-2020-10-20.sqlite)"
)
OPIOID_TABLE_COLUMNS = (
    "drug_code", "drug_name", "dose_form_code", "dose_form_name",
    "ingredient_code", "ingredient_name", "strength",
)


class BuildError(Exception):
    """Input that cannot be verified; the build stops."""


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class VsacSpec:
    id: str
    class_name: str
    oid: str
    file: str  # the canvas module expected to hold the class
    note: str = ""


@dataclass(frozen=True)
class SnomedRef:
    code: str
    criteria_display: str | None  # text the criteria page gives; None = not named there


@dataclass(frozen=True)
class CuratedSpec:
    id: str
    title: str
    citation: str
    # (ICD-10-CM code, text its 2026 description must contain, case-insensitive)
    icd: tuple[tuple[str, str], ...] = ()
    snomed: tuple[SnomedRef, ...] = ()
    note: str = ""
    icd_from_malignancy_chapter: bool = False


VSAC_SPECS: tuple[VsacSpec, ...] = (
    VsacSpec("cancer-related-pain", "CancerRelatedPain", "2.16.840.1.113762.1.4.1111.180", "condition.py"),
    VsacSpec("cancer-vsac", "Cancer", "2.16.840.1.113883.3.526.3.1010", "condition.py",
             note="Besides malignant neoplasms the VSAC set holds ICD-10-CM D37-D49 (neoplasms of "
             "uncertain or unspecified behaviour) and SNOMED CT codes for neoplasms of uncertain "
             "behaviour, borderline tumours, myelodysplastic and myeloproliferative disorders, "
             "inherited cancer syndromes and a few benign lesions (e.g. keratoacanthoma, mast "
             "cell nevus); they are kept as published. For an active malignancy use malignancy "
             "(ICD-10-CM) and malignant-neoplasm-snomed (SNOMED CT)."),
    VsacSpec("opioid-use-disorder-vsac", "OpioidUseDisorder", "2.16.840.1.113762.1.4.1111.171", "condition.py"),
    VsacSpec("seizure-disorder-vsac", "SeizureDisorder", "2.16.840.1.113883.3.464.1003.105.12.1206", "condition.py"),
    VsacSpec("pregnant-state-vsac", "PregnantState", "2.16.840.1.113883.3.3157.4055", "condition.py"),
    VsacSpec("opioids-vsac", "Opioids", "2.16.840.1.113762.1.4.1248.120", "medication.py"),
    VsacSpec("schedule-iv-benzodiazepines", "ScheduleIvBenzodiazepines", "2.16.840.1.113762.1.4.1125.1", "medication.py"),
    VsacSpec("meperidine-medications", "MeperidineMedications", "2.16.840.1.113883.3.464.1003.1248", "medication.py"),
    VsacSpec("psychotic-disorder-vsac", "SchizophreniaOrPsychoticDisorder", "2.16.840.1.113883.3.464.1003.105.12.1104",
             "condition.py"),
    VsacSpec("sepsis-vsac", "Sepsis", "2.16.840.1.113762.1.4.1029.237", "no_qdm_category_assigned.py"),
    VsacSpec("heart-failure-vsac", "HeartFailure", "2.16.840.1.113883.3.526.3.376", "condition.py"),
    VsacSpec("palliative-care-diagnosis-vsac", "PalliativeCareDiagnosis", "2.16.840.1.113883.3.464.1003.1167", "condition.py"),
    VsacSpec("blood-transfusion-vsac", "BloodTransfusion", "2.16.840.1.113762.1.4.1029.213", "procedure.py"),
    VsacSpec("high-intensity-statin-therapy", "HighIntensityStatinTherapy", "2.16.840.1.113883.3.526.3.1572", "medication.py"),
    VsacSpec("moderate-intensity-statin-therapy", "ModerateIntensityStatinTherapy", "2.16.840.1.113883.3.526.3.1575", "medication.py"),
    VsacSpec("chemotherapy-advanced-cancer-vsac", "ChemotherapyAgentsForAdvancedCancer", "2.16.840.1.113762.1.4.1248.355", "medication.py"),
    # S9364.md S9364.nutrition-status: "active Condition in VSAC Malnutrition Diagnosis".
    VsacSpec("malnutrition-diagnosis-vsac", "MalnutritionDiagnosis", "2.16.840.1.113762.1.4.1095.55", "condition.py"),
    # S9338.md (immune globulin): S9338.indication (SCID), S9338.safety.thrombosis (VTE,
    # estrogens), S9338.safety.renal (CKD stage 5, ESRD).
    VsacSpec("scid-vsac", "SevereCombinedImmunodeficiency", "2.16.840.1.113883.3.464.1003.120.12.1007", "condition.py"),
    VsacSpec("venous-thromboembolism-vsac", "VenousThromboembolism", "2.16.840.1.113883.3.117.1.7.1.279", "condition.py"),
    VsacSpec("harmful-estrogens-vsac", "PotentiallyHarmfulEstrogensForOlderAdults", "2.16.840.1.113883.3.464.1003.1058",
             "medication.py"),
    VsacSpec("ckd-stage-5-vsac", "ChronicKidneyDiseaseStage5", "2.16.840.1.113883.3.526.3.1002", "condition.py"),
    VsacSpec("esrd-vsac", "EndStageRenalDisease", "2.16.840.1.113883.3.526.3.353", "condition.py"),
)

CHRONIC_PAIN_SNOMED = (SnomedRef("82423001", "chronic pain"),)
HEMIPLEGIA_AFTER_CVD = "Hemiplegia and hemiparesis following"

P_S9357 = "S9357.md S9357.indication "
P_S9338 = "S9338.md S9338.indication "

CURATED: tuple[CuratedSpec, ...] = (
    # S9347 (../shared/criteria/S9347.md)
    CuratedSpec(
        "ph-primary", "Primary pulmonary hypertension",
        "S9347.md S9347.indication (ICD-10-CM I27.0 primary pulmonary hypertension)",
        icd=(("I27.0", "primary pulmonary hypertension"),),
    ),
    CuratedSpec(
        "ph-secondary-covered", "Secondary pulmonary arterial hypertension; Eisenmenger's syndrome",
        "S9347.md S9347.indication (ICD-10-CM I27.21 secondary pulmonary arterial hypertension, "
        "I27.83 Eisenmenger's syndrome)",
        icd=(("I27.21", "secondary pulmonary arterial hypertension"),
             ("I27.83", "eisenmenger")),
    ),
    CuratedSpec(
        "ph-ctph", "Chronic thromboembolic pulmonary hypertension",
        "S9347.md S9347.indication and S9347.safety.ctph (ICD-10-CM I27.24)",
        icd=(("I27.24", "chronic thromboembolic pulmonary hypertension"),),
    ),
    CuratedSpec(
        "ph-unclassified", "Pulmonary hypertension, unspecified or other secondary",
        "S9347.md S9347.indication (ICD-10-CM I27.20 and I27.29: count only with an active "
        "associated condition)",
        icd=(("I27.20", "pulmonary hypertension, unspecified"),
             ("I27.29", "other secondary pulmonary hypertension")),
    ),
    CuratedSpec(
        "ph-associated", "Conditions pulmonary hypertension may be secondary to (L33794 causes)",
        "S9347.md S9347.indication (connective tissue disease M32, M33, M34, M35.1; HIV B20; "
        "cirrhosis K70.3, K74.6; congenital shunt Q21.0, Q21.1, Q21.4, Q25.0)",
        icd=(("M32", "lupus erythematosus"), ("M33", "dermatopolymyositis"),
             ("M34", "systemic sclerosis"), ("M35.1", "overlap syndromes"),
             ("B20", "human immunodeficiency virus"), ("K70.3", "alcoholic cirrhosis"),
             ("K74.6", "cirrhosis"), ("Q21.0", "ventricular septal defect"),
             ("Q21.1", "atrial septal defect"), ("Q21.4", "aortopulmonary septal defect"),
             ("Q25.0", "patent ductus arteriosus")),
    ),
    CuratedSpec(
        "ph-excluded", "Pulmonary hypertension L33794 excludes (left heart disease, lung disease)",
        "S9347.md S9347.indication (ICD-10-CM I27.22, I27.23 are exclusions)",
        icd=(("I27.22", "left heart disease"), ("I27.23", "lung diseases and hypoxia")),
    ),
    CuratedSpec(
        "left-heart-disease", "Left heart disease next to pulmonary hypertension",
        "S9347.md S9347.safety.left-heart-disease (ICD-10-CM I27.22, I50 (all), I35.0, I35.2; "
        "VSAC Heart Failure is heart-failure-vsac)",
        icd=(("I27.22", "left heart disease"), ("I50", "heart failure"),
             ("I35.0", "aortic (valve) stenosis"), ("I35.2", "aortic (valve) stenosis with insufficiency")),
    ),
    CuratedSpec(
        "ph-lung-disease", "Respiratory disease next to pulmonary hypertension",
        "S9347.md S9347.safety.lung-disease (ICD-10-CM I27.23, J44, J84.1, G47.33)",
        icd=(("I27.23", "lung diseases and hypoxia"), ("J44", "chronic obstructive pulmonary"),
             ("J84.1", "interstitial pulmonary diseases with fibrosis"),
             ("G47.33", "obstructive sleep apnea")),
    ),
    CuratedSpec(
        "central-line-infection", "Infection following infusion (central line infection), any status",
        "S9347.md S9347.safety.line-infection (ICD-10-CM T80.21 (all)); S9348.md S9348.safety.line-infection "
        "(ICD-10-CM T80.21, T80.211-T80.219, any 7th character)",
        icd=(("T80.21", "infection due to central venous catheter"),),
    ),
    CuratedSpec(
        "long-term-anticoagulant", "Long term (current) use of anticoagulants",
        "S9347.md S9347.safety.bleeding (ICD-10-CM Z79.01)",
        icd=(("Z79.01", "long term (current) use of anticoagulants"),),
    ),
    CuratedSpec(
        "malignancy", "Malignant neoplasm (ICD-10-CM C00-C96, C7A, C7B)",
        "S9326.md S9326.indication (cancer-related pain: an active malignancy, ICD-10-CM "
        "C00-C96, C7A, C7B, together with any active pain condition)",
        icd_from_malignancy_chapter=True,
        note="One is-a group per ICD-10-CM category from C00 to C96 that exists in the "
        "release, C4A (Merkel cell carcinoma, which sits between C43 and C44), C7A and C7B "
        "included. SNOMED CT malignant neoplasm codes are in malignant-neoplasm-snomed.",
    ),
    CuratedSpec(
        "chronic-pain", "Chronic pain",
        "S9326.md S9326.indication (chronic pain: ICD-10-CM G89.0, G89.2 (all), G89.4; "
        "SNOMED 82423001 chronic pain and its common specific forms)",
        icd=(("G89.0", "central pain syndrome"), ("G89.2", "chronic pain"),
             ("G89.4", "chronic pain syndrome")),
        snomed=CHRONIC_PAIN_SNOMED,
        note="No specific chronic pain form (chronic low back pain, chronic neck pain, "
        "chronic pain syndrome) could be verified in canvas v2026 or the Synthea samples, "
        "so none is included.",
    ),
    CuratedSpec(
        "postoperative-pain", "Postoperative pain needing prolonged management",
        "S9326.md S9326.indication (postoperative: ICD-10-CM G89.18, G89.28, G89.12)",
        icd=(("G89.18", "acute postprocedural pain"), ("G89.28", "chronic postprocedural pain"),
             ("G89.12", "post-thoracotomy pain")),
    ),
    CuratedSpec(
        "pain-any", "Any pain condition (used together with malignancy)",
        "S9326.md S9326.indication (an active malignancy together with any active pain "
        "condition)",
        icd=(("G89", "pain, not elsewhere classified"), ("R52", "pain, unspecified")),
        snomed=CHRONIC_PAIN_SNOMED,
        note="Kept small: the ICD-10-CM pain codes proper (G89 and R52). Site-specific "
        "symptom codes (M54 dorsalgia, which also holds M54.0 panniculitis; M79.6 limb pain) "
        "are left out. SNOMED 22253000 Pain (finding) could not be verified and is left out.",
    ),
    CuratedSpec(
        "homelessness", "Homelessness or inadequate housing",
        "S9326.md S9326.home-setting; S9363.md S9363.home-setting (ICD-10-CM Z59.0, Z59.1; "
        "SNOMED 32911000 homeless)",
        icd=(("Z59.0", "homelessness"), ("Z59.1", "inadequate housing")),
        snomed=(SnomedRef("32911000", "homeless"),),
    ),
    CuratedSpec(
        "respiratory-risk", "Conditions raising the risk of respiratory depression",
        "S9326.md S9326.safety.respiratory (ICD-10-CM G47.33, J96.1, J96.2, R06.81; SNOMED "
        "78275009 obstructive sleep apnea)",
        icd=(("G47.33", "obstructive sleep apnea"), ("J96.1", "chronic respiratory failure"),
             ("J96.2", "acute and chronic respiratory failure"), ("R06.81", "apnea")),
        snomed=(SnomedRef("78275009", "obstructive sleep apnea"),),
    ),
    CuratedSpec(
        "opioid-use-disorder", "Opioid use disorder (ICD-10-CM F11, SNOMED opioid abuse)",
        "S9326.md S9326.safety.opioid-use-disorder (VSAC Opioid Use Disorder "
        "2.16.840.1.113762.1.4.1111.171, ICD-10-CM F11; SNOMED 5602001 opioid abuse)",
        icd=(("F11", "opioid related disorders"),),
        snomed=(SnomedRef("5602001", "opioid abuse"),),
        note="The VSAC set itself is opioid-use-disorder-vsac.",
    ),
    CuratedSpec(
        "spasticity-origin", "Spasticity of cerebral or spinal origin",
        "S9363.md S9363.indication (ICD-10-CM G35 (incl. G35.A-D), G80, S14.1/S24.1/S34.1 (any "
        "7th character), G95, G82, G81, I69.x5x, G11.4, G25.82; SNOMED 24700007 multiple "
        "sclerosis, 128188000 cerebral palsy, 698754002 chronic paralysis due to lesion of "
        "spinal cord)",
        icd=(("G35", "multiple sclerosis"), ("G80", "cerebral palsy"),
             ("S14.1", "cervical spinal cord"), ("S24.1", "thoracic spinal cord"),
             ("S34.1", "lumbar and sacral spinal cord"), ("G95", "spinal cord"),
             ("G82", "paraplegia"), ("G81", "hemiplegia and hemiparesis"),
             ("I69.05", HEMIPLEGIA_AFTER_CVD), ("I69.15", HEMIPLEGIA_AFTER_CVD),
             ("I69.25", HEMIPLEGIA_AFTER_CVD), ("I69.35", HEMIPLEGIA_AFTER_CVD),
             ("I69.85", HEMIPLEGIA_AFTER_CVD), ("I69.95", HEMIPLEGIA_AFTER_CVD),
             ("G11.4", "hereditary spastic paraplegia"), ("G25.82", "stiff-man syndrome")),
        snomed=(SnomedRef("24700007", "multiple sclerosis"),
                SnomedRef("128188000", "cerebral palsy"),
                SnomedRef("698754002", "chronic paralysis due to lesion of spinal cord")),
        note="I69.x5x = the six subcategories I69.05, I69.15, I69.25, I69.35, I69.85, I69.95, "
        "each checked to read 'Hemiplegia and hemiparesis following ...'.",
    ),
    CuratedSpec(
        "muscle-spasm", "Muscle spasm (not an indication; used to give the reason)",
        "S9363.md S9363.indication (a muscle spasm alone, M62.83, R25.2, is not an indication)",
        icd=(("M62.83", "muscle spasm"), ("R25.2", "cramp and spasm")),
    ),
    CuratedSpec(
        "seizure-disorder", "Seizure disorder",
        "S9363.md S9363.safety.seizure (ICD-10-CM G40; VSAC Seizure Disorder; SNOMED 84757009 "
        "epilepsy, 128613002 seizure disorder)",
        icd=(("G40", "epilepsy"),),
        snomed=(SnomedRef("84757009", "epilepsy"), SnomedRef("128613002", "seizure disorder")),
        note="Both SNOMED codes also occur in the Synthea sample bundles. The VSAC set itself "
        "is seizure-disorder-vsac.",
    ),
    CuratedSpec(
        "severe-renal-impairment", "Severe renal impairment (CKD stage 4, 5, ESRD)",
        "S9363.md S9363.safety.renal (ICD-10-CM N18.4, N18.5, N18.6; SNOMED 431857002 CKD "
        "stage 4, 433146000 CKD stage 5, 46177005 end-stage renal disease)",
        icd=(("N18.4", "stage 4"), ("N18.5", "stage 5"), ("N18.6", "end stage renal disease")),
        snomed=(SnomedRef("431857002", "CKD stage 4"), SnomedRef("433146000", "CKD stage 5"),
                SnomedRef("46177005", "end-stage renal disease")),
    ),
    CuratedSpec(
        "pregnancy", "Pregnancy",
        "S9363.md S9363.safety.pregnancy (ICD-10-CM Z33.1, O09; VSAC Pregnant State; SNOMED "
        "77386006 pregnancy, 72892002 normal pregnancy)",
        icd=(("Z33.1", "pregnant state"), ("O09", "high risk pregnancy")),
        snomed=(SnomedRef("77386006", "pregnancy"), SnomedRef("72892002", "normal pregnancy")),
        note="The VSAC set itself is pregnant-state-vsac.",
    ),
    CuratedSpec(
        "psychotic-disorder", "Schizophrenia or psychotic disorder (ICD-10-CM F20-F29)",
        "S9327-S9328.md S9328.safety.psychosis (VSAC Schizophrenia or Psychotic Disorder "
        "2.16.840.1.113883.3.464.1003.105.12.1104 or ICD-10-CM F20-F29)",
        icd=(("F20", "schizophrenia"), ("F21", "schizotypal disorder"), ("F22", "delusional disorders"),
             ("F23", "brief psychotic disorder"), ("F24", "shared psychotic disorder"),
             ("F25", "schizoaffective disorders"), ("F28", "other psychotic disorder"),
             ("F29", "unspecified psychosis")),
        note="F20-F29 = the categories of that block that exist (F26 and F27 do not). The VSAC "
        "set itself is psychotic-disorder-vsac.",
    ),
    CuratedSpec(
        "neuraxial-infection", "Active infection: sepsis, meningitis, intraspinal abscess, infusion catheter infection",
        "S9327-S9328.md S9328.safety.infection (VSAC Sepsis 2.16.840.1.113762.1.4.1029.237 or "
        "ICD-10-CM A41, G00, G03, G06.1, T85.735, T85.79)",
        icd=(("A41", "other sepsis"), ("G00", "bacterial meningitis"), ("G03", "meningitis"),
             ("G06.1", "intraspinal abscess"), ("T85.735", "spinal infusion catheter"),
             ("T85.79", "infection and inflammatory reaction")),
        note="The VSAC set itself is sepsis-vsac.",
    ),
    CuratedSpec(
        "bleeding-diathesis", "Bleeding disorder (ICD-10-CM D65-D68 without the thrombophilias D68.5, D68.6)",
        "S9327-S9328.md S9328.safety.bleeding (ICD-10-CM D65-D68, except the thrombophilias "
        "D68.5 and D68.6)",
        icd=(("D65", "disseminated intravascular coagulation"), ("D66", "hereditary factor VIII deficiency"),
             ("D67", "hereditary factor IX deficiency"), ("D68.0", "von willebrand"),
             ("D68.1", "hereditary factor XI deficiency"), ("D68.2", "hereditary deficiency of other clotting factors"),
             ("D68.3", "hemorrhagic disorder due to"), ("D68.4", "acquired coagulation factor deficiency"),
             ("D68.8", "other specified coagulation defects"), ("D68.9", "coagulation defect, unspecified")),
        note="D68 is listed by subcategory so that D68.5 and D68.6 stay out. The VSAC set Bleeding "
        "Disorder 2.16.840.1.113762.1.4.1029.287 holds D68.5x and D68.6x, and this tool cannot "
        "exclude codes from a VSAC set, so it is not generated.",
    ),
    CuratedSpec(
        "programmable-device", "Another implanted programmable device",
        "S9327-S9328.md S9328.safety.programmable-device (ICD-10-CM Z95.0 pacemaker, Z95.810 "
        "implantable defibrillator, Z96.82 neurostimulator)",
        icd=(("Z95.0", "cardiac pacemaker"), ("Z95.810", "defibrillator"), ("Z96.82", "neurostimulator")),
    ),
    CuratedSpec(
        "high-cord-injury", "Cervical or high thoracic spinal cord injury",
        "S9363.md S9363.safety.withdrawal (cervical/high thoracic cord injury: S14.1, S24.1)",
        icd=(("S14.1", "cervical spinal cord"), ("S24.1", "thoracic spinal cord")),
    ),
    CuratedSpec(
        "heart-failure", "Heart failure (any code)",
        "S9348.md S9348.indication (ICD-10-CM I50 (all), I11.0, I13.0, I13.2, I09.81; SNOMED "
        "84114007 heart failure, 42343007 congestive heart failure, 88805009 chronic congestive "
        "heart failure)",
        icd=(("I50", "heart failure"), ("I11.0", "heart failure"), ("I13.0", "heart failure"),
             ("I13.2", "heart failure"), ("I09.81", "rheumatic heart failure")),
        snomed=(SnomedRef("84114007", "heart failure"), SnomedRef("42343007", "congestive heart failure"),
                SnomedRef("88805009", "chronic congestive heart failure")),
        note="The VSAC set itself is heart-failure-vsac.",
    ),
    CuratedSpec(
        "cardiogenic-shock", "Cardiogenic shock (not an indication; used to give the reason)",
        "S9348.md S9348.indication (cardiogenic shock alone, R57.0, is not an indication)",
        icd=(("R57.0", "cardiogenic shock"),),
    ),
    CuratedSpec(
        "heart-failure-stage-d", "Heart failure stage D / end stage",
        "S9348.md S9348.advanced-hf (ICD-10-CM I50.84; SNOMED 120851000119104 systolic HF stage "
        "D, 120881000119106 diastolic HF stage D, 67431000119105 congestive HF stage D)",
        icd=(("I50.84", "end stage heart failure"),),
        snomed=(SnomedRef("120851000119104", "systolic heart failure stage D"),
                SnomedRef("120881000119106", "diastolic heart failure stage D"),
                SnomedRef("67431000119105", "congestive heart failure stage D")),
    ),
    CuratedSpec(
        "ventricular-arrhythmia", "Ventricular tachycardia, fibrillation or cardiac arrest",
        "S9348.md S9348.safety.ventricular-arrhythmia (ICD-10-CM I47.2, I49.01, I49.02, I46; "
        "SNOMED 71908006 ventricular fibrillation, 410429000 cardiac arrest)",
        icd=(("I47.2", "ventricular tachycardia"), ("I49.01", "ventricular fibrillation"),
             ("I49.02", "ventricular flutter"), ("I46", "cardiac arrest")),
        snomed=(SnomedRef("71908006", "ventricular fibrillation"), SnomedRef("410429000", "cardiac arrest")),
    ),
    CuratedSpec(
        "outflow-obstruction", "Obstructive hypertrophic cardiomyopathy or aortic stenosis",
        "S9348.md S9348.safety.outflow-obstruction (ICD-10-CM I42.1, I35.0, I35.2)",
        icd=(("I42.1", "obstructive hypertrophic cardiomyopathy"), ("I35.0", "stenosis"),
             ("I35.2", "stenosis with insufficiency")),
    ),
    CuratedSpec(
        "ckd-stage-4-5-esrd", "CKD stage 4, 5 or ESRD (milrinone)",
        "S9348.md S9348.safety.renal (ICD-10-CM N18.4, N18.5, N18.6; SNOMED 433146000 CKD stage 5)",
        icd=(("N18.4", "stage 4"), ("N18.5", "stage 5"), ("N18.6", "end stage renal disease")),
        snomed=(SnomedRef("433146000", "CKD stage 5"),),
    ),
    CuratedSpec(
        "atrial-fibrillation-flutter", "Atrial fibrillation or flutter",
        "S9348.md S9348.safety.atrial-fibrillation (ICD-10-CM I48; SNOMED 49436004)",
        icd=(("I48", "atrial fibrillation and flutter"),),
        snomed=(SnomedRef("49436004", "atrial fibrillation"),),
    ),
    CuratedSpec(
        "defibrillator-status", "Automatic implantable cardiac defibrillator in place",
        "S9348.md S9348.safety.icd-deactivation (ICD-10-CM Z95.810)",
        icd=(("Z95.810", "defibrillator"),),
    ),
    CuratedSpec(
        "palliative-care-encounter", "Encounter for palliative care",
        "S9348.md S9348.safety.icd-deactivation, S9348.doc.bridge-or-palliative (ICD-10-CM Z51.5)",
        icd=(("Z51.5", "palliative care"),),
        note="The VSAC set Palliative Care Diagnosis is palliative-care-diagnosis-vsac.",
    ),
    CuratedSpec(
        "awaiting-transplant", "Awaiting organ transplant status",
        "S9348.md S9348.doc.bridge-or-palliative (ICD-10-CM Z76.82)",
        icd=(("Z76.82", "awaiting organ transplant"),),
    ),
    CuratedSpec(
        "heart-assist-or-transplant", "Heart assist device or heart transplant status",
        "S9348.md mechanical-circulatory-support alternative (ICD-10-CM Z95.811, Z94.1)",
        icd=(("Z95.811", "heart assist device"), ("Z94.1", "heart transplant status")),
    ),
    # S9357 (enzyme replacement): one set per disease, so the order's ERT is paired with its
    # disease (S9357.md Order routing).
    CuratedSpec("lsd-gaucher", "Gaucher disease", P_S9357 + "(Gaucher: ICD-10-CM E75.22)",
                icd=(("E75.22", "gaucher"),)),
    CuratedSpec("lsd-fabry", "Fabry disease", P_S9357 + "(Fabry: ICD-10-CM E75.21)",
                icd=(("E75.21", "fabry"),)),
    CuratedSpec(
        "lsd-pompe", "Pompe disease", P_S9357 + "(Pompe: ICD-10-CM E74.02; SNOMED 274864009, "
        "722302009 infantile onset, 722343009 late onset, found by the page in VSAC "
        "Neuromuscular Disorder 2.16.840.1.113762.1.4.1248.239, which itself is not used)",
        icd=(("E74.02", "pompe"),),
        snomed=(SnomedRef("274864009", "Pompe disease"),
                SnomedRef("722302009", "Pompe disease infantile onset"),
                SnomedRef("722343009", "Pompe disease late onset")),
    ),
    CuratedSpec("lsd-mps-i", "Mucopolysaccharidosis type I", P_S9357 + "(MPS I: ICD-10-CM E76.01, E76.02, E76.03)",
                icd=(("E76.01", "hurler"), ("E76.02", "hurler-scheie"), ("E76.03", "scheie"))),
    CuratedSpec("lsd-mps-ii", "Mucopolysaccharidosis type II", P_S9357 + "(MPS II: ICD-10-CM E76.1)",
                icd=(("E76.1", "mucopolysaccharidosis, type ii"),)),
    CuratedSpec("lsd-mps-iva", "Morquio A (MPS IVA)", P_S9357 + "(MPS IVA: ICD-10-CM E76.210)",
                icd=(("E76.210", "morquio a"),)),
    CuratedSpec("lsd-mps-other", "Other mucopolysaccharidoses (MPS VI, MPS VII)",
                P_S9357 + "(MPS VI and VII share ICD-10-CM E76.29)",
                icd=(("E76.29", "other mucopolysaccharidoses"),)),
    CuratedSpec("lsd-lipid-other", "Other lipid storage disorders (lysosomal acid lipase deficiency)",
                P_S9357 + "(LAL deficiency: ICD-10-CM E75.5, which also covers disorders without an ERT)",
                icd=(("E75.5", "other lipid storage disorders"),)),
    CuratedSpec("lsd-asmd", "Acid sphingomyelinase deficiency (Niemann-Pick A, B, A/B)",
                P_S9357 + "(ICD-10-CM E75.240, E75.241, E75.244)",
                icd=(("E75.240", "type a"), ("E75.241", "type b"), ("E75.244", "type a/b"))),
    CuratedSpec("lsd-glycoprotein", "Defects in glycoprotein degradation (alpha-mannosidosis)",
                P_S9357 + "(alpha-mannosidosis: ICD-10-CM E77.1, which also covers disorders without an ERT)",
                icd=(("E77.1", "glycoprotein degradation"),)),
    CuratedSpec(
        "lsd-no-iv-ert", "Lysosomal storage disorders without an IV ERT",
        P_S9357 + "(not IV ERT indications: Niemann-Pick C E75.242, Morquio B E76.211, Sanfilippo "
        "E76.22, CLN2 E75.4)",
        icd=(("E75.242", "type c"), ("E76.211", "morquio b"), ("E76.22", "sanfilippo"),
             ("E75.4", "neuronal ceroid lipofuscinosis")),
    ),
    CuratedSpec(
        "ert-prior-reaction", "Prior anaphylaxis or infusion reaction",
        "S9357.md S9357.safety.prior-reaction (ICD-10-CM T88.6, T78.2, T80.89, Z88.8)",
        icd=(("T88.6", "anaphylactic reaction"), ("T78.2", "anaphylactic shock"),
             ("T80.89", "following infusion"), ("Z88.8", "allergy status to other drugs")),
    ),
    CuratedSpec(
        "ert-cardiorespiratory", "Compromised cardiac or respiratory function",
        "S9357.md S9357.safety.cardiorespiratory (ICD-10-CM I50, J96.1, Z99.11, Z99.81; the "
        "VSAC set Heart Failure is heart-failure-vsac)",
        icd=(("I50", "heart failure"), ("J96.1", "chronic respiratory failure"),
             ("Z99.11", "respirator"), ("Z99.81", "supplemental oxygen")),
    ),
    CuratedSpec(
        "transfusional-hemochromatosis", "Hemochromatosis due to repeated red blood cell transfusions",
        "S9355.md S9355.indication (ICD-10-CM E83.111)",
        icd=(("E83.111", "repeated red blood cell transfusions"),),
    ),
    CuratedSpec(
        "hereditary-hemochromatosis", "Hereditary hemochromatosis",
        "S9355.md S9355.indication (ICD-10-CM E83.110: unknown alone, phlebotomy first)",
        icd=(("E83.110", "hereditary hemochromatosis"),),
    ),
    CuratedSpec(
        "other-hemochromatosis", "Other or unspecified hemochromatosis",
        "S9355.md S9355.indication (ICD-10-CM E83.118, E83.119)",
        icd=(("E83.118", "other hemochromatosis"), ("E83.119", "hemochromatosis, unspecified")),
    ),
    CuratedSpec(
        "transfusion-dependent-anemia", "Transfusion-dependent anemia",
        "S9355.md S9355.indication (ICD-10-CM D56 except D56.3 and D56.4; D57 except D57.3; D46; "
        "D61; D64.4; SNOMED 109995007 myelodysplastic syndrome)",
        icd=(("D56.0", "alpha thalassemia"), ("D56.1", "beta thalassemia"),
             ("D56.2", "delta-beta thalassemia"), ("D56.5", "hemoglobin e-beta thalassemia"),
             ("D56.8", "other thalassemias"), ("D56.9", "thalassemia, unspecified"),
             ("D57.0", "hb-ss disease"), ("D57.1", "sickle-cell disease without crisis"),
             ("D57.2", "sickle-cell/hb-c disease"), ("D57.4", "sickle-cell thalassemia"),
             ("D57.8", "other sickle-cell disorders"), ("D46", "myelodysplastic syndromes"),
             ("D61", "aplastic anemias"), ("D64.4", "congenital dyserythropoietic anemia")),
        snomed=(SnomedRef("109995007", "myelodysplastic syndrome"),),
        note="D56.3 thalassemia minor, D56.4 hereditary persistence of fetal hemoglobin and D57.3 "
        "sickle-cell trait are left out as the page says (VSAC Sickle Cell Disease with and "
        "without Crisis 2.16.840.1.113762.1.4.1111.175 likewise lists no D57.3).",
    ),
    CuratedSpec(
        "acute-iron-poisoning", "Acute iron poisoning",
        "S9355.md S9355.indication (ICD-10-CM T45.4X1-T45.4X4, any 7th character)",
        icd=(("T45.4X1", "poisoning by iron"), ("T45.4X2", "poisoning by iron"),
             ("T45.4X3", "poisoning by iron"), ("T45.4X4", "poisoning by iron")),
    ),
    CuratedSpec(
        "ckd-4-5-esrd", "CKD stage 4-5 or ESRD",
        "S9355.md S9355.safety.renal (ICD-10-CM N18.4, N18.5, N18.6; SNOMED 433146000)",
        icd=(("N18.4", "stage 4"), ("N18.5", "stage 5"), ("N18.6", "end stage renal disease")),
        snomed=(SnomedRef("433146000", "CKD stage 5"),),
    ),
    CuratedSpec(
        "pregnancy-icd", "Pregnancy (ICD-10-CM)",
        "S9355.md S9355.safety.pregnancy (ICD-10-CM Z33.1, O09)",
        icd=(("Z33.1", "pregnant state"), ("O09", "high risk pregnancy")),
        note="The page's SNOMED codes come from VSAC Pregnant State: pregnant-state-vsac.",
    ),
    CuratedSpec(
        "hearing-loss-retinal", "Hearing loss or retinal disorder",
        "S9355.md S9355.safety.hearing-vision (ICD-10-CM H90, H91, H35)",
        icd=(("H90", "hearing loss"), ("H91", "hearing loss"), ("H35", "retinal disorders")),
    ),
    CuratedSpec(
        "s9494-bone-joint", "Bone and joint infection (S9494 indication kind bone-joint)",
        "S9494.md S9494.indication, kind bone-joint (curated: ICD-10-CM M86, M46.2, M46.3, M00, "
        "T84.5, T84.6, T84.7, A69.23; SNOMED 203241002, 444760002, 445063003, 33937009)",
        icd=(("M86", "osteomyelitis"), ("M46.2", "osteomyelitis of vertebra"),
             ("M46.3", "infection of intervertebral disc"), ("M00", "pyogenic arthritis"),
             ("T84.5", "internal joint prosthesis"), ("T84.6", "internal fixation device"),
             ("T84.7", "orthopedic prosthetic devices"), ("A69.23", "arthritis due to lyme")),
        snomed=(SnomedRef("203241002", "osteomyelitis of vertebra"),
                SnomedRef("444760002", "acute osteomyelitis of vertebra"),
                SnomedRef("445063003", "chronic osteomyelitis of vertebra"),
                SnomedRef("33937009", "Lyme arthritis")),
    ),
    CuratedSpec(
        "s9494-endovascular", "Endovascular infection (S9494 indication kind endovascular)",
        "S9494.md S9494.indication, kind endovascular (curated: ICD-10-CM I33.0, B37.6, T82.6, "
        "T82.7, T80.211, R78.81, A40, A41, B37.7; SNOMED 91302008 sepsis)",
        icd=(("I33.0", "infective endocarditis"), ("B37.6", "candidal endocarditis"),
             ("T82.6", "cardiac valve prosthesis"), ("T82.7", "cardiac and vascular devices"),
             ("T80.211", "bloodstream infection"), ("R78.81", "bacteremia"),
             ("A40", "streptococcal sepsis"), ("A41", "sepsis"), ("B37.7", "candidal sepsis")),
        snomed=(SnomedRef("91302008", "sepsis"),),
    ),
    CuratedSpec(
        "s9494-cns", "Central nervous system infection (S9494 indication kind cns)",
        "S9494.md S9494.indication, kind cns (curated: ICD-10-CM G00, G06, B00.4, B02.0, B02.1, "
        "A69.21, A69.22; SNOMED 230150008 meningitis in Lyme disease)",
        icd=(("G00", "bacterial meningitis"), ("G06", "abscess"), ("B00.4", "encephalitis"),
             ("B02.0", "zoster encephalitis"), ("B02.1", "zoster meningitis"),
             ("A69.21", "meningitis due to lyme"), ("A69.22", "lyme disease")),
        snomed=(SnomedRef("230150008", "meningitis in Lyme disease"),),
    ),
    CuratedSpec(
        "s9494-deep-abscess", "Deep abscess (S9494 indication kind deep-abscess)",
        "S9494.md S9494.indication, kind deep-abscess (curated: ICD-10-CM K65.1, K75.0, K63.0, "
        "J85, J86, N15.1, M72.6)",
        icd=(("K65.1", "peritoneal abscess"), ("K75.0", "abscess of liver"),
             ("K63.0", "abscess of intestine"), ("J85", "abscess of lung"), ("J86", "pyothorax"),
             ("N15.1", "perinephric abscess"), ("M72.6", "necrotizing fasciitis")),
    ),
    CuratedSpec(
        "s9494-urinary", "Pyelonephritis (S9494 indication kind urinary)",
        "S9494.md S9494.indication, kind urinary (curated: ICD-10-CM N10; SNOMED 36689008 acute "
        "pyelonephritis, 45816000 pyelonephritis)",
        icd=(("N10", "acute pyelonephritis"),),
        snomed=(SnomedRef("36689008", "acute pyelonephritis"), SnomedRef("45816000", "pyelonephritis")),
    ),
    CuratedSpec(
        "s9494-viral", "Viral infection (S9494 indication kind viral)",
        "S9494.md S9494.indication, kind viral (curated: ICD-10-CM B25, B02.7)",
        icd=(("B25", "cytomegaloviral"), ("B02.7", "disseminated zoster")),
    ),
    CuratedSpec(
        "s9494-fungal", "Invasive fungal infection (S9494 indication kind fungal)",
        "S9494.md S9494.indication, kind fungal (curated: ICD-10-CM B44, B45, B46, B38, B39, B40)",
        icd=(("B44", "aspergillosis"), ("B45", "cryptococcosis"), ("B46", "zygomycosis"),
             ("B38", "coccidioidomycosis"), ("B39", "histoplasmosis"), ("B40", "blastomycosis")),
    ),
    CuratedSpec(
        "s9494-oral-usually", "Infection usually treated orally (S9494 indication kind oral-usually)",
        "S9494.md S9494.indication, kind oral-usually (curated: ICD-10-CM L02, L03, J13, J14, "
        "J15, J16, J18, N30, N39.0)",
        icd=(("L02", "cutaneous abscess"), ("L03", "cellulitis"), ("J13", "pneumonia"),
             ("J14", "pneumonia"), ("J15", "bacterial pneumonia"), ("J16", "pneumonia"),
             ("J18", "pneumonia"), ("N30", "cystitis"), ("N39.0", "urinary tract infection")),
    ),
    CuratedSpec(
        "upper-respiratory-infection", "Acute pharyngitis or upper respiratory infection",
        "S9494.md S9494.indication (named as not an indication) and the rank-1 rule for "
        "oral-step-down (ICD-10-CM J02, J06)",
        icd=(("J02", "acute pharyngitis"), ("J06", "upper respiratory infections")),
    ),
    CuratedSpec(
        "substance-use-disorder", "Opioid, cocaine, stimulant or other psychoactive substance use disorder",
        "S9494.md S9494.safety.substance-use (ICD-10-CM F11, F14, F15, F19)",
        icd=(("F11", "opioid"), ("F14", "cocaine"), ("F15", "stimulant"),
             ("F19", "psychoactive substance")),
    ),
    CuratedSpec(
        "kidney-impairment", "Impaired or unstable kidney function",
        "S9494.md S9494.safety.nephrotoxic-renal (ICD-10-CM N17, N18.4, N18.5, N18.6, Z99.2; "
        "SNOMED 433146000, 46177005)",
        icd=(("N17", "acute kidney failure"), ("N18.4", "stage 4"), ("N18.5", "stage 5"),
             ("N18.6", "end stage renal disease"), ("Z99.2", "renal dialysis")),
        snomed=(SnomedRef("433146000", None), SnomedRef("46177005", None)),
    ),
    CuratedSpec(
        "s9494-pregnancy", "Pregnancy (S9494 vancomycin excipients)",
        "S9494.md S9494.safety.pregnancy-vancomycin (ICD-10-CM Z33.1, O09; SNOMED 77386006)",
        icd=(("Z33.1", "pregnant state"), ("O09", "high risk pregnancy")),
        snomed=(SnomedRef("77386006", "pregnancy"),),
    ),
    CuratedSpec(
        "advanced-ckd", "Advanced chronic kidney disease or dialysis",
        "S9494.md S9494.safety.ckd-vein-preservation (curated: ICD-10-CM N18.32, N18.4, N18.5, "
        "N18.6, Z99.2)",
        icd=(("N18.32", "stage 3b"), ("N18.4", "stage 4"), ("N18.5", "stage 5"),
             ("N18.6", "end stage renal disease"), ("Z99.2", "renal dialysis")),
    ),
    CuratedSpec(
        "antibiotic-allergy", "Allergy status to penicillin or other antibiotic agents",
        "S9494.md S9494.safety.beta-lactam-allergy (ICD-10-CM Z88.0, Z88.1)",
        icd=(("Z88.0", "allergy status to penicillin"), ("Z88.1", "other antibiotic agents")),
    ),
    CuratedSpec(
        "cannot-swallow-absorb", "Dysphagia or malabsorption",
        "S9494.md S9494.doc.no-oral-option (ICD-10-CM R13.1 dysphagia, K90, K91.2 malabsorption)",
        icd=(("R13.1", "dysphagia"), ("K90", "malabsorption"), ("K91.2", "malabsorption")),
    ),
    CuratedSpec(
        "vascular-access-condition", "Vascular access device on record",
        "S9494.md S9494.vascular-access (ICD-10-CM Z45.2, Z95.828)",
        icd=(("Z45.2", "vascular access device"), ("Z95.828", "vascular implants")),
    ),
    CuratedSpec(
        "central-line-placement", "Insertion or replacement of a PICC or central venous catheter",
        "S9494.md S9494.vascular-access (SNOMED 428388009, 439414000, 439095005, 439355003, "
        "439917001, 439918006, 431185003)",
        snomed=(SnomedRef("428388009", "insertion of PICC"), SnomedRef("439414000", "replacement of PICC"),
                SnomedRef("439095005", "replacement of PICC using fluoroscopy"),
                SnomedRef("439355003", "replacement of tunneled CVC"),
                SnomedRef("439917001", "replacement of non-tunneled CVC"),
                SnomedRef("439918006", "replacement of tunneled CVC with subcutaneous pump"),
                SnomedRef("431185003", "replacement of CVC using fluoroscopy")),
    ),
    CuratedSpec(
        "central-line-removal", "Removal of a PICC or central venous catheter",
        "S9494.md S9494.vascular-access, removal ends access (SNOMED 424606007, 440459001, "
        "175853000, 450330005, 431678001, 431243009)",
        snomed=(SnomedRef("424606007", None), SnomedRef("440459001", "removal of PICC"),
                SnomedRef("175853000", "removal of central venous line"), SnomedRef("450330005", None),
                SnomedRef("431678001", "removal of tunneled CVC"), SnomedRef("431243009", None)),
    ),
    CuratedSpec(
        "hepatocellular-carcinoma", "Primary hepatocellular carcinoma",
        "S9330.md S9330.pump-indication (a): hepatocellular carcinoma C22.0 (SNOMED 109841003 "
        "liver cell carcinoma)",
        icd=(("C22.0", "liver cell carcinoma"),),
        snomed=(SnomedRef("109841003", "liver cell carcinoma"),),
    ),
    CuratedSpec(
        "colorectal-cancer", "Colorectal cancer",
        "S9330.md S9330.pump-indication (a): colorectal C18, C19, C20 (SNOMED 363406005 "
        "malignant neoplasm of colon, 363351006 malignant tumor of rectum)",
        icd=(("C18", "malignant neoplasm of colon"), ("C19", "rectosigmoid junction"),
             ("C20", "malignant neoplasm of rectum")),
        snomed=(SnomedRef("363406005", "malignant neoplasm of colon"),
                SnomedRef("363351006", "malignant tumor of rectum")),
        note="C78.7 (liver metastasis) counts on the page only with a C18-C20 primary, which "
        "this set already holds, so C78.7 is not listed.",
    ),
    CuratedSpec(
        "heart-failure-cardiomyopathy", "Heart failure or cardiomyopathy",
        "S9330.md S9330.safety.anthracycline-heart (ICD-10-CM I50 (all), I42; VSAC Heart "
        "Failure is heart-failure-vsac)",
        icd=(("I50", "heart failure"), ("I42", "cardiomyopathy")),
    ),
    CuratedSpec(
        "neutropenia", "Neutropenia",
        "S9330.md S9330.safety.neutropenia (ICD-10-CM D70 (all), including D70.1 agranulocytosis "
        "secondary to cancer chemotherapy)",
        icd=(("D70", "neutropenia"),),
    ),    # S9364 (../shared/criteria/S9364.md): parenteral nutrition.
    CuratedSpec(
        "pn-malabsorption", "Malabsorption (S9364 indication kind malabsorption)",
        "S9364.md S9364.indication, kind malabsorption (L38953 as stated by First Coast; HMSA "
        "MM.08.007; Centene CP.MP.163: ICD-10-CM K90.82, K90.83, K91.2, K90.3, K90.89, K90.9, "
        "K86.81, K52.0, K50, K55.1, Z94.82, T86.85, P77)",
        icd=(("K90.82", "short bowel syndrome"), ("K90.83", "intestinal failure"),
             ("K91.2", "postsurgical malabsorption"), ("K90.3", "pancreatic steatorrhea"),
             ("K90.89", "other intestinal malabsorption"), ("K90.9", "intestinal malabsorption"),
             ("K86.81", "exocrine pancreatic insufficiency"), ("K52.0", "due to radiation"),
             ("K50", "crohn's disease"), ("K55.1", "chronic vascular disorders of intestine"),
             ("Z94.82", "intestine transplant status"), ("T86.85", "intestine transplant"),
             ("P77", "necrotizing enterocolitis")),
    ),
    CuratedSpec(
        "pn-motility", "Gastric or intestinal motility disorder (S9364 indication kind motility)",
        "S9364.md S9364.indication, kind motility (L38953 as stated by First Coast: ICD-10-CM "
        "K31.84, K59.8, K56.0; SNOMED 713702000, 713703005, 713704004 gastroparesis due to "
        "diabetes, found by the page in VSAC Diabetes 2.16.840.1.113883.3.464.1003.103.12.1001, "
        "which itself is not used)",
        icd=(("K31.84", "gastroparesis"), ("K59.8", "other specified functional intestinal"),
             ("K56.0", "paralytic ileus")),
        snomed=(SnomedRef("713702000", "gastroparesis due to type 1 diabetes mellitus"),
                SnomedRef("713703005", "gastroparesis due to type 2 diabetes mellitus"),
                SnomedRef("713704004", "gastroparesis due to diabetes mellitus")),
    ),
    CuratedSpec(
        "pn-obstruction-fistula", "Intestinal obstruction or fistula (S9364 indication kind obstruction-fistula)",
        "S9364.md S9364.indication, kind obstruction-fistula (HMSA MM.08.007: mechanical "
        "obstruction not operable, proximal enterocutaneous fistula; Centene CP.MP.163: "
        "ICD-10-CM K56.6, K56.7, K91.3, K63.2)",
        icd=(("K56.6", "intestinal obstruction"), ("K56.7", "ileus, unspecified"),
             ("K91.3", "postprocedural intestinal obstruction"), ("K63.2", "fistula of intestine")),
    ),
    CuratedSpec(
        "pn-intestinal-failure", "Short bowel syndrome, intestinal failure or postsurgical malabsorption",
        "S9364.md intestinal-rehabilitation alternative (kind malabsorption with ICD-10-CM K90.82, "
        "K90.83 or K91.2)",
        icd=(("K90.82", "short bowel syndrome"), ("K90.83", "intestinal failure"),
             ("K91.2", "postsurgical malabsorption")),
    ),
    CuratedSpec(
        "dysphagia", "Aphagia and dysphagia",
        "S9364.md S9364.indication (dysphagia R13 alone is not an indication) and the "
        "oral-nutrition-support alternative (offered when no R13 is on record)",
        icd=(("R13", "dysphagia"),),
    ),
    CuratedSpec(
        "pn-gut-works", "Anorexia, malnutrition or cachexia (not an indication for PN)",
        "S9364.md S9364.indication (anorexia R63.0, malnutrition E40-E46 or cachexia R64 without a "
        "gut condition is not an indication: enteral nutrition, NCD 180.2)",
        icd=(("R63.0", "anorexia"), ("E40", "kwashiorkor"), ("E41", "nutritional marasmus"),
             ("E42", "marasmic kwashiorkor"), ("E43", "severe protein-calorie malnutrition"),
             ("E44", "protein-calorie malnutrition"), ("E45", "protein-calorie malnutrition"),
             ("E46", "protein-calorie malnutrition"), ("R64", "cachexia")),
    ),
    CuratedSpec(
        "abnormal-weight-loss", "Abnormal weight loss",
        "S9364.md S9364.nutrition-status (ICD-10-CM R63.4, next to VSAC Malnutrition Diagnosis)",
        icd=(("R63.4", "abnormal weight loss"),),
    ),
    CuratedSpec(
        "hypertriglyceridemia", "Pure hyperglyceridemia",
        "S9364.md S9364.safety.hypertriglyceridemia (ICD-10-CM E78.1 when no triglyceride value)",
        icd=(("E78.1", "pure hyperglyceridemia"),),
    ),
    CuratedSpec(
        "egg-seafood-allergy", "Allergy to eggs or seafood",
        "S9364.md S9364.safety.lipid-allergy (ICD-10-CM Z91.012, Z91.013; SMOFlipid labelling)",
        icd=(("Z91.012", "allergy to eggs"), ("Z91.013", "allergy to seafood")),
    ),
    CuratedSpec(
        "liver-disease", "Diseases of liver (ICD-10-CM K70-K77)",
        "S9364.md S9364.safety.liver (curated condition list: ICD-10-CM K70-K77)",
        icd=(("K70", "alcoholic liver disease"), ("K71", "toxic liver disease"),
             ("K72", "hepatic failure"), ("K73", "chronic hepatitis"),
             ("K74", "fibrosis and cirrhosis of liver"), ("K75", "inflammatory liver diseases"),
             ("K76", "other diseases of liver"), ("K77", "liver disorders")),
    ),
    CuratedSpec(
        "diabetes-type-1-2", "Type 1 or type 2 diabetes mellitus",
        "S9364.md S9364.safety.diabetes (ICD-10-CM E10, E11)",
        icd=(("E10", "type 1 diabetes mellitus"), ("E11", "type 2 diabetes mellitus")),
    ),
    CuratedSpec(
        "pn-volume-risk", "Heart failure or CKD stage 4-5 or dialysis",
        "S9364.md S9364.safety.volume (curated: ICD-10-CM I50, N18.4, N18.5, N18.6, Z99.2; SNOMED "
        "84114007, 42343007, 433146000, 46177005, found by the page in VSAC AdvancedIllness)",
        icd=(("I50", "heart failure"), ("N18.4", "stage 4"), ("N18.5", "stage 5"),
             ("N18.6", "end stage renal disease"), ("Z99.2", "renal dialysis")),
        snomed=(SnomedRef("84114007", "heart failure"), SnomedRef("42343007", "congestive heart failure"),
                SnomedRef("433146000", "chronic kidney disease stage 5"),
                SnomedRef("46177005", "end-stage renal disease")),
    ),
    # S9346 (../shared/criteria/S9346.md)
    CuratedSpec(
        "aatd", "Alpha-1 antitrypsin deficiency",
        "S9346.md S9346.indication (ICD-10-CM E88.01; SNOMED 30188007 alpha-1-antitrypsin "
        "deficiency, found in VSAC Chronic Liver Disease 2.16.840.1.113883.3.464.1003.199.12.1035, "
        "the set itself not used; SNOMED 233674008 counts as both AATD and emphysema)",
        icd=(("E88.01", "alpha-1-antitrypsin deficiency"),),
        snomed=(SnomedRef("30188007", "Alpha-1-antitrypsin deficiency"),
                SnomedRef("233674008", "Pulmonary emphysema in alpha-1 primary immunodeficiency deficiency")),
    ),
    CuratedSpec(
        "aatd-lung-disease", "Emphysema or chronic obstructive pulmonary disease (AATD augmentation)",
        "S9346.md S9346.indication (ICD-10-CM J43 (all) emphysema, J44 (all) COPD; SNOMED 87433001 "
        "pulmonary emphysema, 4981000 panacinar emphysema, 68328006 centriacinar emphysema, "
        "185086009 chronic obstructive bronchitis; 233674008 counts as both)",
        icd=(("J43", "emphysema"), ("J44", "chronic obstructive pulmonary disease")),
        snomed=(SnomedRef("87433001", "pulmonary emphysema"), SnomedRef("4981000", "panacinar emphysema"),
                SnomedRef("68328006", "centriacinar emphysema"),
                SnomedRef("185086009", "chronic obstructive bronchitis"),
                SnomedRef("233674008", "Pulmonary emphysema in alpha-1 primary immunodeficiency deficiency")),
    ),
    CuratedSpec(
        "aatd-emphysema", "Pulmonary emphysema in alpha-1 antitrypsin deficiency (one concept for both)",
        "S9346.md S9346.indication (SNOMED 233674008 counts as both AATD and emphysema: one condition "
        "meets the criterion)",
        snomed=(SnomedRef("233674008", "Pulmonary emphysema in alpha-1 primary immunodeficiency deficiency"),),
    ),
    CuratedSpec(
        "liver-fibrosis-cirrhosis", "Fibrosis and cirrhosis of liver",
        "S9346.md S9346.safety.liver-disease and S9346.indication (AATD liver disease only): "
        "ICD-10-CM K74 (all)",
        icd=(("K74", "fibrosis and cirrhosis of liver"),),
    ),
    CuratedSpec(
        "iga-deficiency", "Selective deficiency of immunoglobulin A",
        "S9346.md S9346.safety.iga-deficiency (ICD-10-CM D80.2; SNOMED 190979003 selective "
        "immunoglobulin A deficiency)",
        icd=(("D80.2", "immunoglobulin a"),),
        snomed=(SnomedRef("190979003", "selective immunoglobulin A deficiency"),),
    ),
    CuratedSpec(
        "tobacco-smoking-condition", "Nicotine dependence from smoking, not in remission; tobacco use",
        "S9346.md S9346.non-smoker (active Condition F17.20x, F17.21x or F17.29x not in remission "
        "(not F17.201, F17.211, F17.291), or Z72.0)",
        icd=(("F17.200", "uncomplicated"), ("F17.203", "withdrawal"), ("F17.208", "other nicotine-induced"),
             ("F17.209", "unspecified nicotine-induced"),
             ("F17.210", "uncomplicated"), ("F17.213", "withdrawal"), ("F17.218", "other nicotine-induced"),
             ("F17.219", "unspecified nicotine-induced"),
             ("F17.290", "uncomplicated"), ("F17.293", "withdrawal"), ("F17.298", "other nicotine-induced"),
             ("F17.299", "unspecified nicotine-induced"),
             ("Z72.0", "tobacco use")),
    ),
    CuratedSpec(
        "clabsi", "Bloodstream infection due to central venous catheter, any status",
        "S9364.md S9364.safety.clabsi-history (ICD-10-CM T80.211, any 7th character, any status)",
        icd=(("T80.211", "bloodstream infection due to central venous catheter"),),
    ),
    # S9373 (../shared/criteria/S9373.md): hydration.
    CuratedSpec(
        "hydration-hypovolemia", "Volume depletion (S9373 indication kind hypovolemia)",
        "S9373.md S9373.indication, kind hypovolemia (BCBS Kansas CAM 929; HMSA: ICD-10-CM E86: "
        "E86.0, E86.1, E86.9)",
        icd=(("E86", "volume depletion"),),
    ),
    CuratedSpec(
        "hydration-fluid-loss", "Conditions expected to increase fluid losses or cut intake (S9373 kind fluid-loss)",
        "S9373.md S9373.indication, kind fluid-loss (BCBS Kansas CAM 929; HMSA MM.08.006: "
        "ICD-10-CM O21, R11.1, R11.2, R19.7, A08, A09, K52.9, K90.82, K91.2)",
        icd=(("O21", "excessive vomiting in pregnancy"), ("R11.1", "vomiting"),
             ("R11.2", "nausea with vomiting"), ("R19.7", "diarrhea"),
             ("A08", "intestinal infections"), ("A09", "infectious gastroenteritis"),
             ("K52.9", "noninfective gastroenteritis"), ("K90.82", "short bowel syndrome"),
             ("K91.2", "postsurgical malabsorption")),
    ),
    CuratedSpec(
        "hydration-chemo-adverse-effect", "Adverse effect of antineoplastic drugs (S9373 kind chemotherapy)",
        "S9373.md S9373.indication, kind chemotherapy (ICD-10-CM T45.1X5, any 7th character, with "
        "an active malignancy C00-C96)",
        icd=(("T45.1X5", "adverse effect of antineoplastic"),),
    ),
    CuratedSpec(
        "hydration-chemo-encounter", "Encounter for antineoplastic chemotherapy (S9373 kind chemotherapy)",
        "S9373.md S9373.indication, kind chemotherapy (ICD-10-CM Z51.11)",
        icd=(("Z51.11", "encounter for antineoplastic chemotherapy"),),
    ),
    CuratedSpec(
        "hydration-palliative", "Encounter for palliative care (S9373 kind palliative)",
        "S9373.md S9373.indication, kind palliative (HMSA; BCBS Kansas CAM 929: ICD-10-CM Z51.5)",
        icd=(("Z51.5", "encounter for palliative care"),),
    ),
    CuratedSpec(
        "hydration-pots", "Postural orthostatic tachycardia syndrome (not an indication for IV hydration)",
        "S9373.md S9373.indication (POTS alone is not an indication, BCBS Kansas CAM 929: "
        "ICD-10-CM G90.A; SNOMED 371073003, found by the page in VSAC Hypotension "
        "2.16.840.1.113883.3.526.3.370)",
        icd=(("G90.A", "postural orthostatic tachycardia syndrome"),),
        snomed=(SnomedRef("371073003", "postural orthostatic tachycardia syndrome"),),
    ),
    CuratedSpec(
        "hydration-heart-failure", "Heart failure (S9373 safety)",
        "S9373.md S9373.safety.heart-failure (curated: ICD-10-CM I50; SNOMED 84114007, 42343007, "
        "found by the page in VSAC AdvancedIllness)",
        icd=(("I50", "heart failure"),),
        snomed=(SnomedRef("84114007", "heart failure"), SnomedRef("42343007", "congestive heart failure")),
    ),
    CuratedSpec(
        "hydration-renal", "CKD stage 4-5 or dialysis (S9373 safety)",
        "S9373.md S9373.safety.renal (curated: ICD-10-CM N18.4, N18.5, N18.6, Z99.2; SNOMED "
        "433146000, 46177005, found by the page in VSAC AdvancedIllness)",
        icd=(("N18.4", "stage 4"), ("N18.5", "stage 5"), ("N18.6", "end stage renal disease"),
             ("Z99.2", "renal dialysis")),
        snomed=(SnomedRef("433146000", "chronic kidney disease stage 5"),
                SnomedRef("46177005", "end-stage renal disease")),
    ),
    CuratedSpec(
        "hydration-vomiting", "Excessive vomiting in pregnancy, vomiting, or nausea with vomiting",
        "S9373.md S9373.safety.thiamine (curated: ICD-10-CM O21, R11.1, R11.2)",
        icd=(("O21", "excessive vomiting in pregnancy"), ("R11.1", "vomiting"),
             ("R11.2", "nausea with vomiting")),
    ),
    CuratedSpec(
        "hydration-nausea-vomiting", "Excessive vomiting in pregnancy, or nausea and vomiting",
        "S9373.md antiemetic-optimization alternative (kind fluid-loss with ICD-10-CM O21 or R11; "
        "Centene CP.MP.34)",
        icd=(("O21", "excessive vomiting in pregnancy"), ("R11", "nausea and vomiting")),
    ),
    CuratedSpec(
        "gastrostomy-status", "Gastrostomy status",
        "S9373.md enteral-hydration alternative (ICD-10-CM Z93.1)",
        icd=(("Z93.1", "gastrostomy status"),),
    ),
    # S9338 (../shared/criteria/S9338.md): immune globulin. The indication's six kinds are one
    # set each, so the criterion reports the kind found (PID Medicare list first).
    CuratedSpec(
        "ig-pid-medicare", "Primary immunodeficiency on the Medicare IVIG/SCIG list",
        P_S9338 + "(PID (Medicare list) = A52507 group 3 = A52509 group 1: ICD-10-CM D80.0, D80.2-D80.7, "
        "D81.0, D81.1, D81.2, D81.5, D81.6, D81.7, D81.82, D81.89, D81.9, D82.0, D82.1, D82.4, D83 (all), "
        "G11.3; SNOMED CT 23238000, 65880007, 191011000, 191012007, 191013002, 190979003, 190980000, "
        "190981001; VSAC Severe Combined Immunodeficiency is scid-vsac)",
        icd=(("D80.0", "hereditary hypogammaglobulinemia"), ("D80.2", "immunoglobulin a"),
             ("D80.3", "immunoglobulin g"), ("D80.4", "immunoglobulin m"), ("D80.5", "increased immunoglobulin m"),
             ("D80.6", "antibody deficiency"), ("D80.7", "transient hypogammaglobulinemia"),
             ("D81.0", "reticular dysgenesis"), ("D81.1", "low t- and b-cell"), ("D81.2", "low or normal b-cell"),
             ("D81.5", "purine nucleoside phosphorylase"), ("D81.6", "class i deficiency"),
             ("D81.7", "class ii deficiency"), ("D81.82", "activated phosphoinositide"),
             ("D81.89", "other combined immunodeficiencies"), ("D81.9", "combined immunodeficiency"),
             ("D82.0", "wiskott-aldrich"), ("D82.1", "di george"), ("D82.4", "hyperimmunoglobulin e"),
             ("D83", "common variable immunodeficiency"), ("G11.3", "defective dna repair")),
        snomed=(SnomedRef("23238000", "common variable agammaglobulinemia"),
                SnomedRef("65880007", "X-linked agammaglobulinemia"),
                SnomedRef("191011000", None), SnomedRef("191012007", None), SnomedRef("191013002", None),
                SnomedRef("190979003", "selective IgA deficiency"), SnomedRef("190980000", "selective IgM deficiency"),
                SnomedRef("190981001", "selective IgG deficiency")),
    ),
    CuratedSpec(
        "ig-pid-other", "Other antibody or combined immunodeficiencies (not on the Medicare list)",
        P_S9338 + "(PID (other), curated: ICD-10-CM D80.1, D80.8, D80.9, D81.30, D81.31, D81.39, D81.4, "
        "D82.2, D82.3, D82.8, D82.9)",
        icd=(("D80.1", "nonfamilial hypogammaglobulinemia"), ("D80.8", "predominantly antibody defects"),
             ("D80.9", "predominantly antibody defects"), ("D81.30", "adenosine deaminase"),
             ("D81.31", "adenosine deaminase"), ("D81.39", "adenosine deaminase"), ("D81.4", "nezelof"),
             ("D82.2", "short-limbed stature"), ("D82.3", "epstein-barr"), ("D82.8", "other specified major defects"),
             ("D82.9", "major defect, unspecified")),
    ),
    CuratedSpec("ig-cidp", "Chronic inflammatory demyelinating polyneuropathy",
                P_S9338 + "(CIDP: ICD-10-CM G61.81, A52507 group 6)",
                icd=(("G61.81", "chronic inflammatory demyelinating"),)),
    CuratedSpec("ig-mmn", "Multifocal motor neuropathy", P_S9338 + "(MMN: ICD-10-CM G61.82)",
                icd=(("G61.82", "multifocal motor neuropathy"),)),
    CuratedSpec("ig-chronic-itp", "Immune thrombocytopenic purpura", P_S9338 + "(chronic ITP: ICD-10-CM D69.3)",
                icd=(("D69.3", "immune thrombocytopenic purpura"),)),
    CuratedSpec("ig-dermatomyositis", "Dermatomyositis (adult)",
                P_S9338 + "(dermatomyositis, curated: ICD-10-CM M33.1 (all), M33.9 (all))",
                icd=(("M33.1", "other dermatomyositis"), ("M33.9", "dermatopolymyositis, unspecified"))),
    CuratedSpec(
        "ig-not-indicated", "Conditions this page does not treat with home immune globulin",
        P_S9338 + "(not-met with that reason: Guillain-Barre syndrome G61.0, multiple sclerosis G35, "
        "myasthenia gravis G70.0, secondary immunodeficiency D84.8)",
        icd=(("G61.0", "guillain-barre"), ("G35", "multiple sclerosis"), ("G70.0", "myasthenia gravis"),
             ("D84.8", "other specified immunodeficiencies")),
    ),
    CuratedSpec(
        "igg-level-applies", "Hypogammaglobulinemia and common variable immunodeficiency (IgG level read)",
        "S9338.md S9338.igg-level (applies to ICD-10-CM D80.0, D80.1, D80.9, D83 (all); SNOMED CT 23238000, "
        "65880007, 191011000, 191012007, 191013002)",
        icd=(("D80.0", "hereditary hypogammaglobulinemia"), ("D80.1", "nonfamilial hypogammaglobulinemia"),
             ("D80.9", "predominantly antibody defects"), ("D83", "common variable immunodeficiency")),
        snomed=(SnomedRef("23238000", "common variable agammaglobulinemia"),
                SnomedRef("65880007", "X-linked agammaglobulinemia"),
                SnomedRef("191011000", None), SnomedRef("191012007", None), SnomedRef("191013002", None)),
    ),
    CuratedSpec(
        "ig-thrombosis-risk", "Thrombosis, thrombophilia or hyperviscosity (immune globulin boxed warning)",
        "S9338.md S9338.safety.thrombosis (ICD-10-CM I26, I80, I82, Z86.71, I63, Z86.73, I21; thrombophilia "
        "D68.5, D68.6; hyperviscosity C88.0, D47.2, D45; VSAC Venous Thromboembolism is "
        "venous-thromboembolism-vsac)",
        icd=(("I26", "pulmonary embolism"), ("I80", "phlebitis"), ("I82", "venous embolism and thrombosis"),
             ("Z86.71", "venous thrombosis"), ("I63", "cerebral infarction"), ("Z86.73", "cerebral infarction"),
             ("I21", "acute myocardial infarction"), ("D68.5", "primary thrombophilia"),
             ("D68.6", "other thrombophilia"), ("C88.0", "macroglobulinemia"), ("D47.2", "monoclonal gammopathy"),
             ("D45", "polycythemia vera")),
    ),
    CuratedSpec(
        "ig-renal-disease", "Acute kidney failure or CKD stage 3-5 or ESRD (IGIV boxed warning)",
        "S9338.md S9338.safety.renal (ICD-10-CM N17, N18.3 (all), N18.4, N18.5, N18.6; VSAC CKD stage 5 and "
        "ESRD are ckd-stage-5-vsac and esrd-vsac)",
        icd=(("N17", "acute kidney failure"), ("N18.3", "stage 3"), ("N18.4", "stage 4"), ("N18.5", "stage 5"),
             ("N18.6", "end stage renal disease")),
    ),
    # Selective IgA deficiency (S9338.safety.iga-deficiency): the S9346 set iga-deficiency holds the
    # page's codes (D80.2, SNOMED 190979003).
    CuratedSpec("ig-heart-failure", "Heart failure (ICD-10-CM I50)",
                "S9338.md S9338.safety.volume (ICD-10-CM I50; VSAC Heart Failure is heart-failure-vsac)",
                icd=(("I50", "heart failure"),)),
    # S9345 (../shared/criteria/S9345.md): the five kinds of S9345.indication (QualChoice factor
    # policy codes), the codes it refuses with their reasons, and the conditions its findings read.
    CuratedSpec(
        "hemophilia-a", "Hemophilia A (factor VIII deficiency), incl. symptomatic carrier",
        "S9345.md S9345.indication (hemophilia-a: ICD-10-CM D66; Z14.02 symptomatic hemophilia A carrier, "
        "curated; SNOMED 28293008 hereditary factor VIII deficiency disease)",
        icd=(("D66", "hereditary factor viii deficiency"), ("Z14.02", "symptomatic hemophilia a carrier")),
        snomed=(SnomedRef("28293008", "Hereditary factor VIII deficiency disease"),),
    ),
    CuratedSpec(
        "hemophilia-b", "Hemophilia B (factor IX deficiency)",
        "S9345.md S9345.indication (hemophilia-b: ICD-10-CM D67; no SNOMED code verified)",
        icd=(("D67", "hereditary factor ix deficiency"),),
    ),
    CuratedSpec(
        "hemophilia-a-b-icd", "Congenital hemophilia A or B coded in ICD-10-CM (D66, D67)",
        "S9345.md S9345.indication (acquired-hemophilia: D68.311 with no active D66 or D67) and inhibitor status "
        "(D68.311 coded with D66/D67 counts as an inhibitor)",
        icd=(("D66", "hereditary factor viii deficiency"), ("D67", "hereditary factor ix deficiency")),
    ),
    CuratedSpec(
        "von-willebrand-disease", "Von Willebrand disease",
        "S9345.md S9345.indication (vwd: ICD-10-CM D68.0 with D68.00, D68.01, D68.020-D68.029, D68.03, "
        "D68.04, D68.09; SNOMED 128105004 von Willebrand disorder)",
        icd=(("D68.0", "von willebrand"),),
        snomed=(SnomedRef("128105004", "von Willebrand disorder"),),
    ),
    CuratedSpec(
        "vwd-type-1", "Von Willebrand disease, type 1",
        "S9345.md desmopressin-trial alternative and rank-1 rule 6 (ICD-10-CM D68.01)",
        icd=(("D68.01", "von willebrand disease, type 1"),),
    ),
    CuratedSpec(
        "acquired-hemophilia", "Acquired hemophilia",
        "S9345.md S9345.indication (acquired-hemophilia: ICD-10-CM D68.311, with no active D66 or D67) "
        "and inhibitor status",
        icd=(("D68.311", "acquired hemophilia"),),
    ),
    CuratedSpec(
        "intrinsic-factor-inhibitor", "Other hemorrhagic disorder due to intrinsic circulating anticoagulants",
        "S9345.md inhibitor status (ICD-10-CM D68.318: intrinsic anti-VIIIa or anti-IXa)",
        icd=(("D68.318", "intrinsic circulating anticoagulants"),),
    ),
    CuratedSpec(
        "rare-factor-deficiency", "Hereditary deficiency of other clotting factors",
        "S9345.md S9345.indication (rare-factor: ICD-10-CM D68.2, congenital deficiency of fibrinogen, "
        "factor II, V, VII, X, XIII)",
        icd=(("D68.2", "hereditary deficiency of other clotting factors"),),
    ),
    CuratedSpec(
        "hemophilia-carrier-asymptomatic", "Asymptomatic hemophilia A carrier",
        "S9345.md S9345.indication (not an indication: ICD-10-CM Z14.01)",
        icd=(("Z14.01", "asymptomatic hemophilia a carrier"),),
    ),
    CuratedSpec(
        "factor-xi-deficiency", "Hereditary factor XI deficiency",
        "S9345.md S9345.indication (not an indication, curated: no factor XI concentrate among the "
        "products claimed; ICD-10-CM D68.1)",
        icd=(("D68.1", "hereditary factor xi deficiency"),),
    ),
    CuratedSpec(
        "acquired-coagulopathy-hospital", "Acquired coagulation defects treated in hospital",
        "S9345.md S9345.indication (not an indication, curated: D68.4 acquired coagulation factor "
        "deficiency, D68.32 drug-induced bleeding, D65 DIC)",
        icd=(("D68.4", "acquired coagulation factor deficiency"),
             ("D68.32", "extrinsic circulating anticoagulants"),
             ("D65", "disseminated intravascular coagulation")),
    ),
    CuratedSpec(
        "hemophilia-bleed-history", "Joint or intracranial bleeding history, any status",
        "S9345.md S9345.prophylaxis-severity (bleed history, any status: M25.0 hemarthrosis (all), "
        "M36.2 hemophilic arthropathy, I60, I61, I62 intracranial hemorrhage)",
        icd=(("M25.0", "hemarthrosis"), ("M36.2", "hemophilic arthropathy"),
             ("I60", "subarachnoid hemorrhage"), ("I61", "intracerebral hemorrhage"),
             ("I62", "nontraumatic intracranial hemorrhage")),
    ),
    CuratedSpec(
        "bypassing-thrombosis-risk", "Active thrombosis, embolism or DIC (bypassing-agent boxed warnings)",
        "S9345.md S9345.safety.bypassing-thrombosis (active D65, I26, I80, I82, I21, I63; VSAC Venous "
        "Thromboembolism is venous-thromboembolism-vsac)",
        icd=(("D65", "disseminated intravascular coagulation"), ("I26", "pulmonary embolism"),
             ("I80", "phlebitis"), ("I82", "venous embolism and thrombosis"),
             ("I21", "acute myocardial infarction"), ("I63", "cerebral infarction")),
    ),
    CuratedSpec(
        "thrombosis-history", "Personal history of venous thrombosis or cerebral infarction, any status",
        "S9345.md S9345.safety.bypassing-thrombosis (any status: Z86.71, Z86.73)",
        icd=(("Z86.71", "venous thrombosis"), ("Z86.73", "cerebral infarction")),
    ),
)


@dataclass(frozen=True)
class DisplayFilterSpec:
    """The codes of one system of a canvas class whose display names the concept wanted."""
    id: str
    title: str
    citation: str
    source: VsacSpec  # the canvas class (by name and OID) the codes are taken from
    system: str
    include_words: tuple[str, ...]  # display must contain one (case-insensitive substring)
    exclude_words: tuple[str, ...]  # ... and none of these
    required: tuple[str, ...] = ()  # codes that must come through (the build fails otherwise)
    note: str = ""


MALIGNANT_INCLUDE_WORDS = (
    # generic words for a malignancy
    "malign", "cancer", "carcinoma", "carcinofibroma", "sarcoma", "lymphoma", "leukem",
    "leukaem", "myeloma", "melanoma", "blastoma", "mesothelioma", "metasta", "secondary nodes",
    # haematological malignancies named without those words (ICD-10-CM C81-C96)
    "hodgkin", "burkitt", "mycosis fungoides", "sezary", "sézary", "reticulosis", "waldenstr",
    "heavy chain disease", "immunoproliferative small intestinal", "immunocytoma",
    "plasmacytoma", "richter", "chloroma", "acute panmyelosis", "excess blasts in transformation",
    "letterer-siwe", "langerhans cell histiocytosis", "eosinophilic granuloma",
    "aggressive systemic mastocytosis", "cd30+ lymphoproliferative",
    "epstein-barr virus positive t-cell lymphoproliferative", "myelodysplastic/myeloproliferative",
    "myelodysplastic-myeloproliferative", "dendritic cell neoplasm",
    "fibroblastic reticular cell neoplasm",
    # central nervous system, embryonal and germ cell malignancies
    "glioma", "astrocytoma", "ependymoma", "neuroectodermal", "neuroepithelioma",
    "medulloepithelioma", "embryonal", "rhabdoid", "desmoplastic small round cell", "seminoma",
    "germinoma", "mixed germ cell", "yolk sac tumor", "endodermal sinus tumor", "polyembryoma",
    "immature teratoma", "chordoma", "papillary tumor of pineal region",
    "pineal parenchymal tumor of intermediate",
    # other malignancies known by an eponym or a special name
    "adamantinoma", "paget", "epithelioma basal cell", "fibroepithelioma",
    "epithelioid hemangioendothelioma", "type c thymoma", "klatskin", "krukenberg", "pancoast",
    "hypernephroma", "linitis plastica", "stewart-treves", "small cell neoplasm",
    "undifferentiated neoplasm", "neurotrophic receptor tyrosine kinase",
    "mixed neuroendocrine-non neuroendocrine",
)
MALIGNANT_EXCLUDE_WORDS = (
    "in situ", "benign", "uncertain", "borderline", "history of", "suspected", "family history",
    "screening", "at risk", "no evidence", "premalignant",
    # inherited predisposition syndromes, not a tumour on record
    "cancer syndrome", "tumor syndrome", "neoplasia syndrome", "nonpolyposis", "cancer type x",
    "medullary stenosis",
)

# S9346.md S9346.non-smoker: the smoking concepts of VSAC Tobacco User / Tobacco Non User;
# smokeless-only concepts (snuff, chewing, moist tobacco) are not smoking.
TOBACCO_SMOKING_WORDS = ("smok", "cigar", "pipe", "tobacco non-user", "never used tobacco", "ex-tobacco user")
TOBACCO_SMOKELESS_WORDS = ("snuff", "chew", "moist", "smokeless")

DISPLAY_FILTERED: tuple[DisplayFilterSpec, ...] = (
    DisplayFilterSpec(
        "tobacco-smoker", "Smokes tobacco (smoking concepts of VSAC Tobacco User)",
        "S9346.md S9346.non-smoker (value of LOINC 72166-2 in VSAC \"Tobacco User\" "
        "2.16.840.1.113883.3.526.3.1170 that is a smoking concept = smoker; smokeless-only "
        "concepts are not smoking)",
        source=VsacSpec("tobacco-user-vsac", "TobaccoUser", "2.16.840.1.113883.3.526.3.1170",
                        "no_qdm_category_assigned.py"),
        system=SNOMED, include_words=TOBACCO_SMOKING_WORDS, exclude_words=TOBACCO_SMOKELESS_WORDS,
        required=("449868002", "77176002", "65568007", "59978006", "82302008", "722499006"),
        note="\"Tobacco user\" (110483000) does not say whether the tobacco is smoked: left out "
        "(the status is then unknown).",
    ),
    DisplayFilterSpec(
        "tobacco-non-smoker", "Does not smoke tobacco (smoking concepts of VSAC Tobacco Non User)",
        "S9346.md S9346.non-smoker (value of LOINC 72166-2 in VSAC \"Tobacco Non User\" "
        "2.16.840.1.113883.3.526.3.1189, e.g. never smoked tobacco, ex-smoker, non-smoker = "
        "non-smoker; smokeless-only concepts are not smoking)",
        source=VsacSpec("tobacco-non-user-vsac", "TobaccoNonUser", "2.16.840.1.113883.3.526.3.1189",
                        "no_qdm_category_assigned.py"),
        system=SNOMED, include_words=TOBACCO_SMOKING_WORDS, exclude_words=TOBACCO_SMOKELESS_WORDS,
        required=("266919005", "8517006", "8392000"),
        note="Smokeless-only non-use (does not use snuff, never chewed tobacco, smokeless "
        "tobacco non-user) says nothing of smoking: left out.",
    ),
    DisplayFilterSpec(
        "malignant-neoplasm-snomed", "Malignant neoplasm (SNOMED CT, from VSAC Cancer)",
        "S9326.md S9326.indication (cancer-related pain: an active malignancy, ICD-10-CM "
        "C00-C96, C7A, C7B; SNOMED malignant neoplasm codes, together with any active pain "
        "condition)",
        source=next(spec for spec in VSAC_SPECS if spec.id == "cancer-vsac"), system=SNOMED,
        include_words=MALIGNANT_INCLUDE_WORDS, exclude_words=MALIGNANT_EXCLUDE_WORDS,
        required=("93761005",),
        note="The words follow ICD-10-CM where it decides: entities it classes in C00-C96 are "
        "in (e.g. Refractory anemia with excess blasts in transformation C92.0, "
        "myelodysplastic/myeloproliferative neoplasm C94.6, eosinophilic granuloma C96.6), "
        "entities it classes outside C are out: myelodysplastic syndromes (D46), polycythemia "
        "vera, essential thrombocythemia, primary myelofibrosis and other myeloproliferative or "
        "mast cell neoplasms of uncertain behaviour (D45, D47), monoclonal gammopathy, lethal "
        "midline granuloma (M31.2), keratoacanthoma. Also out, as the display does not say "
        "whether the tumour is malignant: well-differentiated and hormone-secreting "
        "neuroendocrine tumours, thymoma types A/AB/B, gestational trophoblastic neoplasia, "
        "gastrointestinal stromal neoplasm, hemangioendotheliomas other than epithelioid, "
        "teratoma other than immature, pinealoma, craniopharyngioma, paraganglioma, "
        "pseudomyxoma peritonei, transglottic tumor, Erdheim-Chester disease, "
        "lymphoproliferative disorders other than those named. The ICD-10-CM side is malignancy.",
    ),
)


# --------------------------------------------------------------------------- canvas


@dataclass
class CanvasValueSet:
    class_name: str
    file: str
    value_set_name: str
    oid: str
    definition_version: str
    expansion_version: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> code -> display


@dataclass
class CanvasWheel:
    version: str
    value_sets: list[CanvasValueSet]


COMMENT_RE = re.compile(r"#\s*(.*?)\s*$")


def read_canvas_wheel(path: Path) -> CanvasWheel:
    """Read every canvas_sdk/value_set/v2026/*.py of the wheel as text."""
    if not path.is_file():
        raise BuildError(f"canvas wheel not found: {path}")
    with zipfile.ZipFile(path) as wheel:
        version = wheel_version(wheel)
        value_sets: list[CanvasValueSet] = []
        for name in sorted(wheel.namelist()):
            if name.startswith(CANVAS_VS_DIR) and name.endswith(".py"):
                source = wheel.read(name).decode("utf-8")
                value_sets.extend(parse_canvas_module(source, name.removeprefix(CANVAS_VS_DIR)))
    if not value_sets:
        raise BuildError(f"no value set classes under {CANVAS_VS_DIR} in {path}")
    return CanvasWheel(version, value_sets)


def wheel_version(wheel: zipfile.ZipFile) -> str:
    for name in wheel.namelist():
        if name.endswith(".dist-info/METADATA"):
            text = wheel.read(name).decode("utf-8")
            found = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
            if found:
                return found.group(1)
    raise BuildError("wheel has no dist-info/METADATA Version")


def parse_canvas_module(source: str, file: str) -> list[CanvasValueSet]:
    lines = source.splitlines()
    result = []
    for node in ast.parse(source, filename=file).body:
        if isinstance(node, ast.ClassDef):
            parsed = parse_canvas_class(node, lines, file)
            if parsed is not None:
                result.append(parsed)
    return result


def parse_canvas_class(node: ast.ClassDef, lines: list[str], file: str) -> CanvasValueSet | None:
    strings: dict[str, str] = {}
    codes: dict[str, dict[str, str]] = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            continue
        attr = stmt.targets[0].id
        if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            strings[attr] = stmt.value.value
        elif isinstance(stmt.value, ast.Set) and attr in CANVAS_ATTR_SYSTEM:
            codes[CANVAS_ATTR_SYSTEM[attr]] = parse_code_set(stmt.value, lines, f"{file} {node.name}.{attr}")
    needed = ("VALUE_SET_NAME", "OID", "DEFINITION_VERSION", "EXPANSION_VERSION")
    if not all(key in strings for key in needed):
        return None
    return CanvasValueSet(node.name, file, strings["VALUE_SET_NAME"], strings["OID"],
                          strings["DEFINITION_VERSION"], strings["EXPANSION_VERSION"], codes)


def parse_code_set(value: ast.Set, lines: list[str], where: str) -> dict[str, str]:
    """Codes of one set literal, each with the `# display` comment on its line."""
    codes: dict[str, str] = {}
    for element in value.elts:
        if not (isinstance(element, ast.Constant) and isinstance(element.value, str)):
            raise BuildError(f"{where}: element on line {element.lineno} is not a string")
        line = lines[element.lineno - 1]
        comment = COMMENT_RE.search(line[element.end_col_offset:])
        if comment is None or not comment.group(1):
            raise BuildError(f"{where}: code {element.value} has no display comment")
        if codes.get(element.value, comment.group(1)) != comment.group(1):
            raise BuildError(f"{where}: code {element.value} listed twice with different displays")
        codes[element.value] = comment.group(1)
    return codes


def find_canvas_class(wheel: CanvasWheel, spec: VsacSpec) -> tuple[CanvasValueSet, str]:
    """The class named spec.class_name whose OID matches; a note when the name is ambiguous."""
    named = [vs for vs in wheel.value_sets if vs.class_name == spec.class_name]
    matching = [vs for vs in named if vs.oid == spec.oid]
    if len(matching) != 1:
        raise BuildError(f"{spec.id}: {len(matching)} classes {spec.class_name} with OID {spec.oid}")
    chosen = matching[0]
    if chosen.file != spec.file:
        raise BuildError(f"{spec.id}: {spec.class_name} found in {chosen.file}, expected {spec.file}")
    note = ""
    if len(named) > 1:
        others = ", ".join(f"{vs.file} (OID {vs.oid})" for vs in named if vs is not chosen)
        note = f" Class name also used in {others}; the one with the matching OID was taken."
    return chosen, note


def snomed_display_index(wheel: CanvasWheel) -> dict[str, str]:
    """SNOMED CT code -> display, over all canvas value sets (most frequent display wins)."""
    seen: dict[str, Counter[str]] = {}
    for vs in wheel.value_sets:
        for code, display in vs.codes.get(SNOMED, {}).items():
            seen.setdefault(code, Counter())[display] += 1
    return {code: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for code, c in seen.items()}


# --------------------------------------------------------------------------- ICD-10-CM


def icd_release() -> str:
    module = getattr(icd, "simple_icd_10_cm", icd)
    data_file = getattr(module, "_classification_data_package_file_name", "unknown data file")
    return f"ICD-10-CM 2026 ({data_file}, simple_icd_10_cm {metadata.version('simple_icd_10_cm')})"


def dotted_icd(code: str, where: str) -> str:
    dotted = icd.add_dot(code)
    if not icd.is_valid_item(dotted) or not (
        icd.is_category_or_subcategory(dotted) or icd.is_extended_subcategory(dotted)
    ):
        raise BuildError(f"{where}: {code} is not an ICD-10-CM code in {icd_release()}")
    return dotted


def malignancy_categories() -> list[str]:
    """Every ICD-10-CM category from C00 to C96 (C4A, C7A, C7B included)."""
    cats = sorted({c for c in icd.get_all_codes(True) if c.startswith("C") and icd.is_category(c)})
    for required in ("C00", "C7A", "C7B", "C96"):
        if required not in cats:
            raise BuildError(f"malignancy: category {required} missing from {icd_release()}")
    if any(not re.fullmatch(r"C[0-9][0-9A-Z]", c) or c > "C96" for c in cats):
        raise BuildError(f"malignancy: unexpected category in {cats}")
    return cats


def check_icd_description(code: str, expected: str, where: str) -> str:
    description = icd.get_description(code)
    if expected.lower() not in description.lower():
        raise BuildError(f"{where}: {code} reads {description!r}, expected {expected!r}")
    return description


# --------------------------------------------------------------------------- FHIR


@dataclass
class Content:
    concepts: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> code -> display
    groups: dict[str, set[str]] = field(default_factory=dict)  # system -> is-a codes

    def add_concept(self, system: str, code: str, display: str) -> None:
        self.concepts.setdefault(system, {})[code] = display

    def add_group(self, system: str, code: str) -> None:
        self.groups.setdefault(system, set()).add(code)

    def add_icd(self, code: str, display: str | None = None) -> None:
        """A leaf becomes a concept, a code with descendants an is-a group."""
        if icd.is_leaf(code) or display is not None:
            self.add_concept(ICD10CM, code, display if display is not None else icd.get_description(code))
        else:
            self.add_group(ICD10CM, code)

    def counts(self) -> dict[str, int]:
        return {
            "ICD-10-CM codes": len(self.concepts.get(ICD10CM, {})),
            "ICD-10-CM is-a groups": len(self.groups.get(ICD10CM, set())),
            "SNOMED CT": len(self.concepts.get(SNOMED, {})),
            "RxNorm": len(self.concepts.get(RXNORM, {})),
        }


def code_key(code: str) -> tuple[int, int | str]:
    return (0, int(code)) if code.isdigit() else (1, code)


def compose(content: Content) -> dict:
    includes: list[dict] = []
    for system in SYSTEM_ORDER:
        concepts = content.concepts.get(system, {})
        if concepts:
            includes.append({"system": system, "concept": [
                {"code": code, "display": concepts[code]} for code in sorted(concepts, key=code_key)
            ]})
        for code in sorted(content.groups.get(system, set()), key=code_key):
            includes.append({"system": system, "filter": [
                {"property": "concept", "op": "is-a", "value": code}
            ]})
    unknown = (set(content.concepts) | set(content.groups)) - set(SYSTEM_ORDER)
    if unknown:
        raise BuildError(f"unexpected code systems {unknown}")
    return {"include": includes}


def camel(identifier: str) -> str:
    return "".join(part.capitalize() for part in identifier.split("-"))


@dataclass
class Built:
    id: str
    resource: dict
    content: Content
    source: str


def value_set(id_: str, *, url: str, version: str, title: str, publisher: str, purpose: str,
              content: Content, oid: str | None = None) -> dict:
    resource: dict = {"resourceType": "ValueSet", "id": id_, "url": url}
    if oid:
        resource["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{oid}"}]
    resource.update({"version": version, "name": camel(id_), "title": title, "status": "active",
                     "publisher": publisher, "purpose": purpose, "compose": compose(content)})
    return resource


# --------------------------------------------------------------------------- builders


def build_vsac(spec: VsacSpec, wheel: CanvasWheel) -> Built:
    vs, note = find_canvas_class(wheel, spec)
    content = Content()
    for system, codes in vs.codes.items():
        for code, display in codes.items():
            if system == ICD10CM:
                content.add_icd(dotted_icd(code, spec.id), display)
            else:
                content.add_concept(system, code, display)
    if not vs.codes:
        raise BuildError(f"{spec.id}: {spec.class_name} has no ICD-10-CM, SNOMED CT or RxNorm codes")
    where = f"canvas {wheel.version} {CANVAS_VS_DIR}{vs.file}"
    subdivided = sorted(c for c in content.concepts.get(ICD10CM, {}) if not icd.is_leaf(c))
    if subdivided:
        note += (f" {len(subdivided)} ICD-10-CM codes have been subdivided since the expansion "
                 f"and are kept as exact concepts (their new children are not in this set): "
                 f"{', '.join(subdivided)}.")
    note = " ".join(filter(None, [note.strip(), spec.note]))
    purpose = (
        f"VSAC value set \"{vs.value_set_name}\" OID {vs.oid}, definition version "
        f"{vs.definition_version}, expansion '{vs.expansion_version}'; all codes of class "
        f"{vs.class_name} in {where} (canvas wheel, MIT licence), displays from the comment "
        f"beside each code. ICD-10-CM codes written with the dot and checked to exist in "
        f"{icd_release()}.{' ' + note if note else ''}"
    )
    resource = value_set(spec.id, url=VSAC_URL + vs.oid, oid=vs.oid, version=vs.definition_version,
                         title=vs.value_set_name, publisher=f"VSAC (NLM), via {where}",
                         purpose=purpose, content=content)
    source = f"VSAC {vs.oid} v{vs.definition_version} ({vs.expansion_version}), canvas {vs.file} {vs.class_name}"
    return Built(spec.id, resource, content, source)


def read_opioid_table(path: Path) -> dict[str, str]:
    """drug_code -> drug_name; a code must always carry the same name."""
    if not path.is_file():
        raise BuildError(f"opioid table not found: {path}")
    drugs: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != OPIOID_TABLE_COLUMNS:
            raise BuildError(f"{path}: columns {reader.fieldnames}, expected {OPIOID_TABLE_COLUMNS}")
        for row in reader:
            code, name = row["drug_code"].strip(), row["drug_name"].strip()
            if not code.isdigit() or not name:
                raise BuildError(f"{path}: bad row {row}")
            if drugs.setdefault(code, name) != name:
                raise BuildError(f"{path}: drug {code} has two names")
    return drugs


def build_opioid_drugs(path: Path) -> Built:
    content = Content()
    for code, name in read_opioid_table(path).items():
        content.add_concept(RXNORM, code, name)
    purpose = (
        f"Every distinct drug_code ({len(content.concepts[RXNORM])}) of rxnorm-opioid-drugs.csv "
        f"(shared/reference, converted from {OMTK_SOURCE}) as an RxNorm concept with "
        f"display = drug_name, spelling kept from the source. {NLM_ATTRIBUTION}"
    )
    resource = value_set("opioid-drugs", url=CURATED_URL + "opioid-drugs", version="20201020",
                         title="Opioid drugs (RxNorm, OMTK drug table)",
                         publisher="NLM RxNorm via cqframework/opioid-mme-r4 OMTKData.cql (generated 2020-10-20)",
                         purpose=purpose, content=content)
    return Built("opioid-drugs", resource, content, f"RxNorm via OMTK OMTKData.cql (2020-10-20); {NLM_ATTRIBUTION}")


def build_curated(spec: CuratedSpec, snomed_index: dict[str, str], canvas_version: str) -> Built:
    content = Content()
    if spec.icd_from_malignancy_chapter:
        for code in malignancy_categories():
            content.add_group(ICD10CM, code)
    for code, expected in spec.icd:
        dotted = dotted_icd(code, spec.id)
        check_icd_description(dotted, expected, spec.id)
        content.add_icd(dotted)
    verified, from_criteria = [], []
    for ref in spec.snomed:
        if ref.code in snomed_index:
            content.add_concept(SNOMED, ref.code, snomed_index[ref.code])
            verified.append(ref.code)
        elif ref.criteria_display:
            content.add_concept(SNOMED, ref.code, ref.criteria_display)
            from_criteria.append(ref.code)
        else:
            raise BuildError(f"{spec.id}: SNOMED {ref.code} is neither in canvas nor named in the criteria")
    purpose = " ".join(filter(None, [
        f"Criteria: {spec.citation}.",
        f"ICD-10-CM codes and groups checked to exist in {icd_release()}; concept displays "
        "from that release." if content.concepts.get(ICD10CM) or content.groups.get(ICD10CM) else "",
        f"SNOMED CT displays verified in canvas {canvas_version} {CANVAS_VS_DIR} value sets: "
        f"{', '.join(verified)}." if verified else "",
        f"SNOMED CT named in the criteria page but found neither in canvas v2026 nor (checked "
        f"by hand) in the Synthea sample bundles, display taken from the criteria text: {', '.join(from_criteria)}."
        if from_criteria else "",
        spec.note,
    ]))
    resource = value_set(spec.id, url=CURATED_URL + spec.id, version=CURATED_VERSION,
                         title=spec.title, publisher=CURATED_PUBLISHER, purpose=purpose,
                         content=content)
    return Built(spec.id, resource, content, f"curated: {spec.citation}")


def quoted_list(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{word}'" for word in words)


def display_filter(display: str, spec: DisplayFilterSpec) -> bool:
    text = display.lower()
    return (any(word in text for word in spec.include_words)
            and not any(word in text for word in spec.exclude_words))


def build_display_filtered(spec: DisplayFilterSpec, wheel: CanvasWheel) -> Built:
    vs, _ = find_canvas_class(wheel, spec.source)
    codes = vs.codes.get(spec.system, {})
    if not codes:
        raise BuildError(f"{spec.id}: {vs.class_name} has no {SYSTEM_LABEL[spec.system]} codes")
    content = Content()
    for code, display in codes.items():
        if display_filter(display, spec):
            content.add_concept(spec.system, code, display)
    kept = content.concepts.get(spec.system, {})
    missing = [code for code in spec.required if code not in kept]
    if missing:
        raise BuildError(f"{spec.id}: required codes not kept: {', '.join(missing)}")
    where = f"canvas {wheel.version} {CANVAS_VS_DIR}{vs.file}"
    label = SYSTEM_LABEL[spec.system]
    purpose = " ".join(filter(None, [
        f"Criteria: {spec.citation}.",
        f"Derivation: the {label} codes of class {vs.class_name} in {where} (VSAC value set "
        f"\"{vs.value_set_name}\" OID {vs.oid}, definition version {vs.definition_version}, "
        f"expansion '{vs.expansion_version}'; canvas wheel, MIT licence) whose display (the "
        f"comment beside the code), compared in lower case, contains at least one of "
        f"{quoted_list(spec.include_words)} and none of {quoted_list(spec.exclude_words)}; "
        f"{len(kept)} of {len(codes)} codes kept, displays as in canvas."
        + (" No ICD-10-CM part." if spec.system != ICD10CM else ""),
        spec.note,
    ]))
    resource = value_set(spec.id, url=CURATED_URL + spec.id, version=CURATED_VERSION,
                         title=spec.title, publisher=CURATED_PUBLISHER, purpose=purpose,
                         content=content)
    source = (f"derived: {label} codes of VSAC {vs.oid} (canvas {vs.file} {vs.class_name}) "
              f"filtered by display words; {spec.citation}")
    return Built(spec.id, resource, content, source)


def build_all(canvas_wheel: Path, opioid_table: Path) -> list[Built]:
    wheel = read_canvas_wheel(canvas_wheel)
    index = snomed_display_index(wheel)
    built = [build_vsac(spec, wheel) for spec in VSAC_SPECS]
    built.append(build_opioid_drugs(opioid_table))
    built.extend(build_curated(spec, index, wheel.version) for spec in CURATED)
    built.extend(build_display_filtered(spec, wheel) for spec in DISPLAY_FILTERED)
    ids = [b.id for b in built]
    if len(set(ids)) != len(ids):
        raise BuildError(f"duplicate value set ids in {ids}")
    return built


# --------------------------------------------------------------------------- output


def render_json(resource: dict) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def render_readme(built: list[Built]) -> str:
    columns = list(Content().counts())
    lines = [
        "# Value sets",
        "",
        "Generated by `tools/build_valuesets.py`; do not edit by hand. Regenerate with",
        "",
        "    python tools/build_valuesets.py --canvas-wheel PATH/canvas-0.261.0-py3-none-any.whl \\",
        "        --opioid-table PATH/rxnorm-opioid-drugs.csv",
        "",
        "Each file is one FHIR R4 ValueSet. An ICD-10-CM `is-a` filter covers the code and all of",
        "its descendants. ICD-10-CM codes are checked against " + icd_release() + ".",
        "",
        "| id | title | source | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---:|" * len(columns),
    ]
    for b in built:
        counts = b.content.counts()
        source = b.source.replace(NLM_ATTRIBUTION, "NLM attribution below").replace("|", "/")
        lines.append(f"| `{b.id}` | {b.resource['title']} | {source} | "
                     + " | ".join(str(counts[c]) for c in columns) + " |")
    lines += [
        "",
        "## Sources and licences",
        "",
        "- VSAC-derived sets (`identifier` carries the OID): eCQM value sets published by the",
        "  NLM Value Set Authority Center, read from the `canvas` wheel (PyPI `canvas`, version in",
        "  each `publisher`; the wheel's METADATA declares `License-Expression: MIT`),",
        "  `canvas_sdk/value_set/v2026/*.py`.",
        "- `opioid-drugs`: RxNorm drugs from " + OMTK_SOURCE + ". " + NLM_ATTRIBUTION,
        "- Curated sets: the criteria ids in each `purpose` (S9326.md, S9363.md); each `purpose`",
        "  also says where every code and display was verified.",
        "- Display-filtered sets (`malignant-neoplasm-snomed`): a subset of one VSAC-derived set;",
        "  the exact include and exclude words are in its `purpose`.",
        "",
    ]
    return "\n".join(lines)


HAND_WRITTEN = "## Written by hand"


def hand_written_section(readme: str) -> str:
    """The README's "Written by hand" section, kept as it stands: those files (LOINC, CPT, LA
    answer codes) are not produced here, so regenerating must not drop their description."""
    start = readme.find(HAND_WRITTEN)
    if start < 0:
        return ""
    end = readme.find("\n## ", start + len(HAND_WRITTEN))
    section = readme[start:] if end < 0 else readme[start:end + 1]
    return "\n" + section.rstrip("\n") + "\n"


def write_outputs(built: list[Built], out_dir: Path, check: bool) -> list[Path]:
    """Write (or, with check, compare) every file; returns the files that differ."""
    files = {f"{b.id}.json": render_json(b.resource) for b in built}
    readme = out_dir / "README.md"
    hand = hand_written_section(readme.read_text(encoding="utf-8") if readme.exists() else "")
    files["README.md"] = render_readme(built) + hand
    # The files the hand-written section lists are not this script's: not stale either.
    hand_files = {f"{name}.json" for name in re.findall(r"^\| `([^`]+)` \|", hand, re.MULTILINE)}
    changed = []
    for name, text in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(path)
            if not check:
                out_dir.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    stale = sorted(p.name for p in out_dir.glob("*.json")
                   if p.name not in files and p.name not in hand_files) if out_dir.exists() else []
    if stale:
        print(f"warning: files not produced by this script: {', '.join(stale)}", file=sys.stderr)
    return changed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canvas-wheel", type=Path, required=True, help="canvas-0.261.0-py3-none-any.whl")
    parser.add_argument("--opioid-table", type=Path, required=True, help="rxnorm-opioid-drugs.csv")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        built = build_all(args.canvas_wheel, args.opioid_table)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    changed = write_outputs(built, args.out_dir, args.check)
    for b in built:
        counts = ", ".join(f"{k} {v}" for k, v in b.content.counts().items() if v)
        print(f"{b.id}: {counts}")
    verb = "would change" if args.check else "written"
    print(f"{len(changed)} file(s) {verb} in {args.out_dir}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
