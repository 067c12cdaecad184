%header Exploateringskontoret | Tjänsteutlåtande | Dnr E2025-00871
%footer Stockholms stad
%numbering literal
%headings bold
= Remiss av motion om solceller på stadens tak och mark
Svar på remiss från kommunstyrelsen, Dnr KS 2025/433
== Kontorets förslag till beslut @forslag
1) Exploateringsnämnden godkänner kontorets tjänsteutlåtande som svar på remissen från kommunstyrelsen.
2) Exploateringsnämnden uppdrar åt exploateringskontoret att i samråd med stadsbyggnadskontoret redovisa möjliga platser för solcellsparker på stadens mark.
3) Ärendet justeras omedelbart.
== Sammanfattning @sammanfattning
I motionen föreslås att staden ska bygga ut solceller på alla lämpliga tak i stadens fastigheter och upplåta mark för större solcellsparker. Exploateringskontoret är positivt till att mer förnybar el produceras inom staden.
Kontoret bedömer att det finns få platser på stadens mark som är lämpliga för solcellsparker och att markanvändningen behöver vägas mot behovet av bostäder och grönområden. Kontoret tillstyrker motionen delvis.
== Bakgrund @bakgrund
Motionen väcktes i kommunfullmäktige den 12 maj 2025 och remitterades till exploateringsnämnden, stadsbyggnadsnämnden och miljö- och hälsoskyddsnämnden.
== Ärendet @arendet
Motionärerna menar att staden har stora tak- och markytor som i dag inte används för energiproduktion. De föreslår att kommunfullmäktige ger berörda nämnder i uppdrag att kartlägga ytorna och ta fram en plan för utbyggnaden.
== Ärendets beredning @beredning
Ärendet har beretts av avdelningen för strategisk planering.
== Kontorets synpunkter och förslag @synpunkter
Exploateringskontoret upplåter redan i dag mark för solceller genom arrendeavtal, bland annat i Högdalen och vid Lovö. Intresset från marknaden har ökat under de senaste åren.
Ekonomiska konsekvenser
En solcellspark på stadens mark ger arrendeintäkter men kan också minska möjligheten att använda marken för annan bebyggelse. Kontoret bedömer att varje upplåtelse behöver prövas för sig.
Kontoret föreslår att nämnden uppdrar åt kontoret att redovisa möjliga platser i samråd med stadsbyggnadskontoret.
| Anna Lindqvist / Exploateringsdirektör | Per-Erik Söderberg / Avdelningschef |
== Bilaga @bilagor
Motion om solceller på stadens tak och mark
